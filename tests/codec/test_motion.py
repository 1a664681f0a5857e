"""motion_field against a pixel-by-pixel reference and exact hand values."""
from __future__ import annotations

import av
import numpy as np
import pytest

from mmcmd.codec import cell_grid_shape, motion_field
from mmcmd.codec.motion import block_motion

#: the structured dtype of FFmpeg's AVMotionVector as PyAV exports it.
MV_DTYPE = np.dtype({
    'names': ['source', 'w', 'h', 'src_x', 'src_y', 'dst_x', 'dst_y',
              'flags', 'motion_x', 'motion_y', 'motion_scale'],
    'formats': ['<i4', 'u1', 'u1', '<i2', '<i2', '<i2', '<i2', '<u8', '<i4',
                '<i4', '<u2'],
    'offsets': [0, 4, 5, 6, 8, 10, 12, 16, 24, 28, 32], 'itemsize': 40,
    'aligned': True})


def vectors(rows) -> np.ndarray:
    """Structured array from (source, x0, y0, w, h, mx, my, scale) rows."""
    mv = np.zeros(len(rows), MV_DTYPE)
    for i, (source, x0, y0, w, h, mx, my, scale) in enumerate(rows):
        mv[i]['source'], mv[i]['w'], mv[i]['h'] = source, w, h
        mv[i]['dst_x'], mv[i]['dst_y'] = x0 + w // 2, y0 + h // 2
        mv[i]['motion_x'], mv[i]['motion_y'] = mx, my
        mv[i]['motion_scale'] = scale
        mv[i]['src_x'] = mv[i]['dst_x'] + mx // scale
        mv[i]['src_y'] = mv[i]['dst_y'] + my // scale
    return mv


def reference_field(mv, height, width, past=1.0, future=1.0):
    """Paint every block pixel by pixel, average overlaps, sample per cell."""
    rows, cols = cell_grid_shape(height, width)
    total = np.zeros((2, rows * 4 + 64, cols * 4 + 64))
    count = np.zeros((rows * 4 + 64, cols * 4 + 64))
    for row in mv:
        sign, distance = (-1.0, past) if row['source'] < 0 else (1.0, future)
        vx = sign * row['motion_x'] / row['motion_scale'] / distance
        vy = sign * row['motion_y'] / row['motion_scale'] / distance
        x0 = int(row['dst_x']) - int(row['w']) // 2
        y0 = int(row['dst_y']) - int(row['h']) // 2
        xs = slice(max(x0, 0), max(x0 + int(row['w']), 0))
        ys = slice(max(y0, 0), max(y0 + int(row['h']), 0))
        total[0, ys, xs] += vx
        total[1, ys, xs] += vy
        count[ys, xs] += 1
    count = count[:rows * 4:4, :cols * 4:4]
    total = total[:, :rows * 4:4, :cols * 4:4]
    mask = count > 0
    return np.where(mask, total / np.maximum(count, 1), 0.0), mask


def random_partitions(rng, height, width, lattice, bidirectional):
    """Random non-overlapping MB partitions (per direction) of a frame."""
    rows = []
    shapes = [(16, 16), (16, 8), (8, 16), (8, 8)] if lattice == 8 else \
        [(4, 4), (8, 4), (4, 8), (16, 4), (12, 8)]
    for y in range(0, height + 15, 16):
        for x in range(0, width + 15, 16):
            for source in ((-1, 1) if bidirectional else (-1,)):
                if rng.random() < 0.2:
                    continue  # intra / not predicted in this direction
                w, h = shapes[rng.integers(len(shapes))]
                for dy in range(0, 16, h):
                    for dx in range(0, 16, w):
                        if dx + w > 16 or dy + h > 16:
                            continue
                        rows.append((source, x + dx, y + dy, w, h,
                                     int(rng.integers(-64, 65)),
                                     int(rng.integers(-64, 65)),
                                     int(rng.choice([2, 4]))))
    return vectors(rows)


@pytest.mark.parametrize('lattice', [8, 4])
@pytest.mark.parametrize('bidirectional', [False, True])
@pytest.mark.parametrize('size', [(64, 96), (62, 98), (36, 20)])
def test_matches_pixel_reference(lattice, bidirectional, size):
    rng = np.random.default_rng(lattice * 7 + bidirectional + size[1])
    height, width = size
    mv = random_partitions(rng, height, width, lattice, bidirectional)
    field, mask = motion_field(mv, height, width, 2.0, 3.0)
    expected, expected_mask = reference_field(mv, height, width, 2.0, 3.0)
    assert field.shape == (2,) + cell_grid_shape(height, width)
    assert field.dtype == np.float32 and mask.dtype == bool
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(field, expected, atol=1e-5)
    assert not field[:, ~mask].any()


def test_signs_scale_and_distances():
    # One 16x16 block each way at the same place: content moves +2 px/frame.
    mv = vectors([(-1, 16, 16, 16, 16, -8, 4, 4),   # past: dst-src = (2,-1)
                  (1, 16, 16, 16, 16, 6, -3, 2)])   # future: (3, -1.5)
    field, mask = motion_field(mv, 64, 64, past_distance=1, future_distance=1)
    assert mask.sum() == 16 and mask[4:8, 4:8].all()
    np.testing.assert_allclose(field[:, 5, 5], [(2 + 3) / 2, (-1 - 1.5) / 2])
    field, _ = motion_field(mv, 64, 64, past_distance=2, future_distance=3)
    np.testing.assert_allclose(field[:, 4, 7], [(1 + 1) / 2, (-0.5 - 0.5) / 2])
    vx, vy = block_motion(mv)
    np.testing.assert_allclose(vx, [2, 3])
    np.testing.assert_allclose(vy, [-1, -1.5])


def test_quarter_pel_values_are_exact():
    mv = vectors([(-1, 0, 0, 8, 8, -5, 3, 4)])
    field, mask = motion_field(mv, 8, 8)
    assert mask.all()
    np.testing.assert_array_equal(field[0], 1.25)
    np.testing.assert_array_equal(field[1], -0.75)


def test_no_vectors_gives_zero_field():
    for mv in (None, np.zeros(0, MV_DTYPE)):
        field, mask = motion_field(mv, 62, 98)
        assert field.shape == (2, 16, 25) and mask.shape == (16, 25)
        assert not field.any() and not mask.any()


def test_blocks_past_the_frame_edge_are_cropped():
    mv = vectors([(-1, 96, 48, 16, 16, -4, 0, 4)])  # MB straddling 98x62
    field, mask = motion_field(mv, 62, 98)
    assert mask.shape == (16, 25)
    assert mask[12:16, 24].all() and mask.sum() == 4
    np.testing.assert_array_equal(field[0][mask], 1.0)


def test_real_side_data_matches_reference(panning_videos):
    path = panning_videos['h264_bframes'].path
    checked = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {'flags2': '+export_mvs'}
        for frame in container.decode(stream):
            side = frame.side_data.get('MOTION_VECTORS')
            if side is None:
                continue
            mv = side.to_ndarray()
            field, mask = motion_field(mv, frame.height, frame.width, 2, 1)
            expected, expected_mask = reference_field(
                mv, frame.height, frame.width, 2, 1)
            np.testing.assert_array_equal(mask, expected_mask)
            np.testing.assert_allclose(field, expected, atol=1e-5)
            checked += 1
    assert checked > 20


def test_raw_vector_bytes_paint_like_arrays(panning):
    """bytes(side_data) (what the reader keeps) and to_ndarray() give the
    same fields, and MOTION_VECTOR_DTYPE is PyAV's record layout."""
    from mmcmd.codec.motion import MOTION_VECTOR_DTYPE, motion_fields
    arrays, raw = [], []
    with av.open(panning.path) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {'flags2': '+export_mvs'}
        for frame in container.decode(stream):
            side = frame.side_data.get('MOTION_VECTORS')
            arrays.append(None if side is None else side.to_ndarray())
            raw.append(None if side is None else bytes(side))
    present = [a for a in arrays if a is not None]
    assert present and present[0].dtype == MOTION_VECTOR_DTYPE
    width, height = panning.size
    by_array = motion_fields(arrays, height, width, 1.0, 2.0)
    by_bytes = motion_fields(raw, height, width, 1.0, 2.0)
    mixed = motion_fields([a if i % 2 else r for i, (a, r) in
                           enumerate(zip(arrays, raw))], height, width,
                          1.0, 2.0)
    for out in (by_bytes, mixed):
        np.testing.assert_array_equal(out[0], by_array[0])
        np.testing.assert_array_equal(out[1], by_array[1])
    assert by_array[1].any()


def test_motion_vector_bytes_copy_the_side_data_and_free_the_frame(panning):
    import gc

    from mmcmd.codec.decoders import motion_vector_bytes
    with av.open(panning.path) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {'flags2': '+export_mvs'}
        frames = list(container.decode(stream))
    got = [motion_vector_bytes(f) for f in frames]
    assert got[0] is None  # the I-frame
    for frame, raw in zip(frames[1:], got[1:]):
        # Nothing of ours points at the frame: it dies with its last user.
        assert not [r for r in gc.get_referrers(frame)
                    if type(r).__name__ in ('SideDataContainer',
                                            'MotionVectors')]
        side = frame.side_data.get('MOTION_VECTORS')
        expected = None if side is None else side.to_ndarray().tobytes()
        assert raw == expected
    assert any(raw for raw in got)
