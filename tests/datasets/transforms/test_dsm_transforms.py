"""DSM views: local warps against a per-pixel reference, frame insertion and
swapping, the anchor / negative sampler and the three views of a real
encoded video."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS

from mmcmd.codec.testing import decode_all_rgb
from mmcmd.datasets.transforms.dsm import disturbed_order, local_warp_map


def coordinate_clip(num_frames: int, height: int, width: int) -> np.ndarray:
    """uint8 (T, H, W, 3): channel 0 = row, 1 = column, 2 = frame index."""
    ys, xs = np.mgrid[0:height, 0:width]
    frame = np.stack([ys, xs, np.zeros_like(ys)], axis=-1)
    clip = np.repeat(frame[None], num_frames, axis=0)
    clip[..., 2] = np.arange(num_frames)[:, None, None]
    return clip.astype(np.uint8)


# ------------------------------------------------------------------- SLD
def warp_by_loops(height, width, centres, shifts, rounding='floor'):
    """The local warps written plainly: per pixel, per warp, in order;
    ``rounding='truncate'`` adds ``int(-h d)`` to the pixel as the released
    code does, ``'floor'`` takes ``floor(p - h d)``."""
    rows = [[y for _ in range(width)] for y in range(height)]
    cols = [[x for x in range(width)] for _ in range(height)]
    for (cx, cy), (dx, dy) in zip(centres, shifts):
        new_rows = [[0] * width for _ in range(height)]
        new_cols = [[0] * width for _ in range(height)]
        norm = math.sqrt(dx * dx + dy * dy)
        for y in range(height):
            for x in range(width):
                sy, sx = y, x
                if (cx - 3 * dx <= x < cx + 3 * dx and
                        cy - 3 * dy <= y < cy + 3 * dy):
                    r = math.sqrt((x - cx - dx) ** 2 +
                                  (y - cy - dy) ** 2) / norm
                    h = 0.5 / (3 * r ** 4 + 1)
                    if rounding == 'truncate':
                        sx, sy = x + int(-h * dx), y + int(-h * dy)
                    else:
                        sx = math.floor(x - h * dx)
                        sy = math.floor(y - h * dy)
                    sx = min(max(sx, 0), width - 1)
                    sy = min(max(sy, 0), height - 1)
                new_rows[y][x] = rows[sy][sx]
                new_cols[y][x] = cols[sy][sx]
        rows, cols = new_rows, new_cols
    return np.array(rows), np.array(cols)


@pytest.mark.parametrize('rounding', ['truncate', 'floor'])
@pytest.mark.parametrize('centres,shifts', [
    ([(20, 14)], [(4, 3)]),
    ([(12, 10), (26, 18)], [(3, 5), (5, 2)]),
    ([(30.5, 8.25)], [(2.5, 3.75)]),  # scaled (fractional) parameters
])
def test_local_warp_map_equals_per_pixel_reference(centres, shifts,
                                                   rounding):
    rows, cols = local_warp_map(28, 40, np.array(centres), np.array(shifts),
                                rounding=rounding)
    ref_rows, ref_cols = warp_by_loops(28, 40, centres, shifts, rounding)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_array_equal(cols, ref_cols)
    assert (rows != np.arange(28)[:, None]).any()  # something moved


def released_warp_moved(size, point):
    """Pixels the released code's ``spatial_warp_torch`` moves for one warp
    ``point = (x, y, dx, dy)`` on a ``size`` x ``size`` frame: its loops and
    its ``x + int(offset)`` rounding (spatial_wrap.py:119-129), written
    from the formula; its first image axis is its x."""
    x0, y0, dx, dy = point
    moved = 0
    for y in range(max(0, y0 - 3 * dy), min(size, y0 + 3 * dy)):
        for x in range(max(0, x0 - 3 * dx), min(size, x0 + 3 * dx)):
            dist = math.hypot(x - x0 - dx, y - y0 - dy) / math.hypot(dx, dy)
            helper = 0.5 / (3 * dist ** 4 + 1)
            src = (min(max(x + int(-helper * dx), 0), size - 1),
                   min(max(y + int(-helper * dy), 0), size - 1))
            moved += src != (x, y)
    return moved


@pytest.mark.parametrize('point', [(100, 100, 15, 15), (60, 130, 10, 19),
                                   (139, 61, 19, 12)])
def test_sld_truncation_moves_the_released_codes_pixel_count(point):
    """Default rounding = the released code's: for d = (15, 15) 2,085 of
    the 8,100 window pixels move; ``'floor'`` moves all of them."""
    x0, y0, dx, dy = point
    ys, xs = np.mgrid[0:224, 0:224]

    def moved(rounding):
        # mmcmd's x is the column; the released code's x is its first axis,
        # so its (x, y) warp is mmcmd's (y, x) one
        rows, cols = local_warp_map(224, 224, np.array([(y0, x0)]),
                                    np.array([(dy, dx)]), rounding=rounding)
        return int(((rows != ys) | (cols != xs)).sum())

    expected = released_warp_moved(224, point)
    assert moved('truncate') == expected
    assert moved('floor') == 36 * dx * dy > expected
    if point == (100, 100, 15, 15):
        assert expected == 2085
    sld = TRANSFORMS.build(dict(type='SpatialLocalDisturbance'))
    assert sld.rounding == 'truncate'
    with pytest.raises(ValueError, match='rounding'):
        TRANSFORMS.build(dict(type='SpatialLocalDisturbance',
                              rounding='round'))


def test_sld_warps_every_frame_alike_and_keeps_uint8():
    sld = TRANSFORMS.build(dict(type='SpatialLocalDisturbance'))
    clip = coordinate_clip(6, 112, 96)
    np.random.seed(1)
    out = sld(dict(imgs=clip.copy()))['imgs']
    assert out.dtype == np.uint8 and out.shape == clip.shape
    # no pixel crosses frames, and every frame reads the same source map:
    # frame-to-frame motion is the input's (content moved alike in all)
    np.testing.assert_array_equal(out[..., 2], clip[..., 2])
    for t in range(1, 6):
        np.testing.assert_array_equal(out[t, ..., :2], out[0, ..., :2])
    rows, cols = out[0, ..., 0].astype(int), out[0, ..., 1].astype(int)
    moved = (rows != np.arange(112)[:, None]) | (cols != np.arange(96))
    assert moved.any()
    # local: windows [c - 3d, c + 3d) with c < 140 and d < 20 px at 224 end
    # before row 0.5 * (140 + 60) = 100 and column 96/224 * 200 < 86
    assert not moved[100:].any() and not moved[:, 86:].any()
    # each of at most 3 warps moves a pixel by at most half its shift
    # (20 px at 224 -> 10 px at 112 rows) plus 1 px of truncation
    assert np.abs(rows - np.arange(112)[:, None]).max() <= 3 * (5 + 1)


def test_sld_draws_reference_ranges_scaled_to_the_clip():
    sld = TRANSFORMS.build(dict(type='SpatialLocalDisturbance'))
    np.random.seed(0)
    for _ in range(20):
        centres, shifts = sld.draw(224, 224)
        assert 1 <= len(centres) <= 3 and centres.shape == shifts.shape
        assert ((centres >= 60) & (centres < 140)).all()
        assert ((shifts >= 10) & (shifts < 20)).all()
        assert (centres == np.round(centres)).all()
        half, _ = sld.draw(112, 112)
        assert ((half >= 30) & (half < 70)).all()


def test_sld_seed_shares_one_warp_and_default_draws_per_clip():
    clip = coordinate_clip(2, 64, 64)
    shared = TRANSFORMS.build(dict(type='SpatialLocalDisturbance', seed=3))
    outs = [shared(dict(imgs=clip.copy()))['imgs'] for _ in range(3)]
    assert all(np.array_equal(outs[0], o) for o in outs)
    own = TRANSFORMS.build(dict(type='SpatialLocalDisturbance'))
    np.random.seed(0)
    draws = {own(dict(imgs=clip.copy()))['imgs'].tobytes() for _ in range(4)}
    assert len(draws) > 1


# ------------------------------------------------------------------- TLD
def one_insertion_results(num_frames):
    base = list(range(num_frames))
    return {tuple(base[:at] + [base[src]] + base[at:-1])
            for at in range(num_frames) for src in range(num_frames)}


def test_tld_single_insertion_and_single_swap_are_as_specified():
    np.random.seed(0)
    insertions = one_insertion_results(8)
    swaps = set()
    for a, b in itertools.combinations(range(8), 2):
        order = list(range(8))
        order[a], order[b] = order[b], order[a]
        swaps.add(tuple(order))
    for _ in range(30):
        order = disturbed_order(8, insert_rounds=1, swap_rounds=0)
        assert tuple(order) in insertions and tuple(order) != tuple(range(8))
        # one frame copied, the last dropped (a copy of the last one moves)
        assert len(set(order.tolist())) == (8 if 7 in order else 7)
        order = disturbed_order(8, insert_rounds=0, swap_rounds=1)
        assert tuple(order) in swaps


def test_tld_reorders_frames_of_the_clip():
    tld = TRANSFORMS.build(dict(type='TemporalLocalDisturbance'))
    clip = coordinate_clip(16, 8, 8)
    np.random.seed(2)
    for _ in range(20):
        inds = np.arange(100, 116)
        out = tld(dict(imgs=clip.copy(), frame_inds=inds))
        order = out['tld_order']
        assert out['imgs'].dtype == np.uint8
        assert out['imgs'].shape == clip.shape
        np.testing.assert_array_equal(out['imgs'], clip[order])
        np.testing.assert_array_equal(out['frame_inds'], inds[order])
        assert not np.array_equal(order, np.arange(16))
        # T = 16: n = max(1, int(1.6)) = 1 op per round, 2 insertions
        # (each drops one frame) and 2 swaps: 14..16 distinct frames left
        assert 14 <= len(set(order.tolist())) <= 16
    # a 2-frame clip is never left as it was (identity draws are redrawn)
    for _ in range(20):
        assert disturbed_order(2).tolist() != [0, 1]


# -------------------------------------------------------------- sampling
def test_dsm_sampler_same_and_intra_video_negatives():
    same = TRANSFORMS.build(dict(type='DSMSampleFrames', clip_len=4,
                                 frame_interval=2))
    intra = TRANSFORMS.build(dict(type='DSMSampleFrames', clip_len=4,
                                  frame_interval=2, negative='intra_video',
                                  min_gap=3))
    assert same.span == 7
    np.random.seed(0)
    gaps = set()
    for _ in range(50):
        out = same(dict(total_frames=30))
        assert out['num_clips'] == 2 and out['clip_len'] == 4
        anchor, negative = out['frame_inds'][:4], out['frame_inds'][4:]
        np.testing.assert_array_equal(anchor, negative)
        np.testing.assert_array_equal(np.diff(anchor), 2)
        assert 0 <= anchor[0] <= 30 - 7
        out = intra(dict(total_frames=30))
        anchor, negative = out['frame_inds'][:4], out['frame_inds'][4:]
        assert abs(int(negative[0]) - int(anchor[0])) >= 3
        assert negative.max() < 30
        gaps.add(int(negative[0]) - int(anchor[0]))
    assert len(gaps) > 5  # the negative's start is drawn, not fixed
    # too short for two starts: loop, N // 3 frames later
    out = intra(dict(total_frames=6))
    np.testing.assert_array_equal(out['frame_inds'],
                                  [0, 2, 4, 0, 3, 5, 1, 3])


def test_dsm_views_of_a_real_video(tmp_path):
    from mmcmd.codec.samples import write_panning_video
    path = write_panning_video(str(tmp_path / 'pan.mp4'), size=(64, 48),
                               frames=30, gop=12, bframes=2)
    reference = decode_all_rgb(path)
    pipeline = [TRANSFORMS.build(t) for t in [
        dict(type='CompressedVideoInit'),
        dict(type='DSMSampleFrames', clip_len=6, frame_interval=2),
        dict(type='CMDDecode'),
        dict(type='DSMViews',
             positive_transforms=[dict(type='SpatialLocalDisturbance',
                                       seed=5)],
             pack=dict(type='PackCMDInputs', meta_keys=('frame_inds', ))),
    ]]
    np.random.seed(0)
    results = dict(filename=path)
    for transform in pipeline:
        results = transform(results)
    imgs = results['inputs']['imgs']
    assert tuple(imgs.shape) == (3, 3, 6, 48, 64)
    assert str(imgs.dtype) == 'torch.uint8'
    anchor, positive, negative = (v.permute(1, 2, 3, 0).numpy()
                                  for v in imgs)
    inds = results['data_samples'].metainfo['frame_inds']
    np.testing.assert_array_equal(anchor, reference[inds])
    warp = TRANSFORMS.build(dict(type='SpatialLocalDisturbance', seed=5))
    np.testing.assert_array_equal(positive,
                                  warp(dict(imgs=anchor.copy()))['imgs'])
    # the negative: the anchor's frames, reordered
    sources = [[t for t in range(6) if np.array_equal(frame, anchor[t])]
               for frame in negative]
    assert all(sources)
    assert [s[0] for s in sources] != list(range(6))


def test_dsm_views_need_two_clips():
    views = TRANSFORMS.build(dict(type='DSMViews'))
    with pytest.raises(ValueError, match='DSMSampleFrames'):
        views(dict(imgs=np.zeros((4, 8, 8, 3), np.uint8), clip_len=4))
