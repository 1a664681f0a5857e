"""CompressedVideo on real encoded bytes: index, frames, keyframes, motion."""
from __future__ import annotations

import av
import numpy as np
import pytest

from mmcmd.codec import CompressedVideo, cell_grid_shape
from mmcmd.codec.reader import pict_type_char
from mmcmd.codec.samples import panning_frames
from mmcmd.codec.testing import decode_all_rgb


def straight_decode(path: str):
    """(rgb, pict type, key flag) of every frame, by plain PyAV."""
    with av.open(path) as container:
        frames = [(f.to_ndarray(format='rgb24'), pict_type_char(f.pict_type),
                   bool(f.key_frame)) for f in container.decode(video=0)]
    return frames


def interior_median(motion: np.ndarray, mask: np.ndarray, border: int = 2):
    """Median (x, y) over masked cells at least ``border`` cells inside."""
    inner = mask[border:-border, border:-border]
    if not inner.any():
        return None
    return (float(np.median(motion[0, border:-border, border:-border][inner])),
            float(np.median(motion[1, border:-border, border:-border][inner])))


def test_index_matches_decoder(panning):
    decoded = straight_decode(panning.path)
    with CompressedVideo(panning.path) as video:
        index = video.index
        assert video.num_frames == len(decoded) == panning.frames
        assert ''.join(index.pict_types) == ''.join(t for _, t, _ in decoded)
        keys = [i for i, (_, _, key) in enumerate(decoded) if key]
        assert index.keyframes.tolist() == keys
        assert video.width, video.height == panning.size
        assert video.fps == pytest.approx(25.0)
        assert np.all(np.diff(index.timestamps) > 0)
        assert index.timestamps[1] == pytest.approx(1 / 25)
        for frame in range(video.num_frames):
            key = video.keyframe_for(frame)
            assert key <= frame and key in keys
            assert not any(key < k <= frame for k in keys)


@pytest.mark.parametrize('name', ['mpeg4', 'h264_bframes', 'h264_refs'])
def test_keyframes_follow_encoder_gop(panning_videos, name):
    spec = panning_videos[name]
    with CompressedVideo(spec.path) as video:
        expected = np.arange(0, spec.frames, spec.gop)
        assert video.index.keyframes.tolist() == expected.tolist()
        assert (video.index.pict_types[expected] == 'I').all()
        assert (video.index.pict_types == 'B').any() == (
            spec.options.get('bframes', 0) > 0)


def test_recovered_motion_equals_drawn_motion(panning):
    with CompressedVideo(panning.path) as video:
        frames = np.arange(video.num_frames)
        out = video.decode(motion=frames)
        types = video.index.pict_types
    rows, cols = cell_grid_shape(64, 96)
    assert out.motion.shape == (30, 2, rows, cols)
    assert out.motion.dtype == np.float32 and out.mask.dtype == bool
    assert ''.join(out.motion_pict_types) == ''.join(types)
    exact = {'P': 0, 'B': 0}
    total = {'P': 0, 'B': 0}
    for t in frames:
        if types[t] == 'I':
            assert not out.mask[t].any() and not out.motion[t].any()
            continue
        median = interior_median(out.motion[t], out.mask[t])
        assert median is not None, f'frame {t} ({types[t]}) has no vectors'
        total[types[t]] += 1
        exact[types[t]] += median == pytest.approx(panning.motion, abs=0.25)
    assert total['P'] >= 3 and exact['P'] == total['P']
    if panning.options.get('bframes'):
        assert total['B'] >= 3
    if panning.options.get('refs', 1) == 1:
        assert exact['B'] == total['B']
    else:
        # Several references: a B-vector may skip past the nearest anchor,
        # so per-frame normalisation is an approximation (docs/codec.md).
        assert exact['B'] >= 0.7 * total['B']


def test_raw_motion_spans_the_anchor_distance(panning_videos):
    spec = panning_videos['h264_bframes']
    with CompressedVideo(spec.path) as video:
        index = video.index
        p_frames = [t for t in range(30) if index.pict_types[t] == 'P'
                    and index.past_distance[t] > 1]
        assert p_frames, 'fixture should have P-frames after B-frames'
        raw = video.decode(motion=p_frames, raw_motion=True)
        norm = video.decode(motion=p_frames)
    for i, t in enumerate(p_frames):
        distance = index.past_distance[t]
        expected = (spec.motion[0] * distance, spec.motion[1] * distance)
        assert interior_median(raw.motion[i], raw.mask[i]) == pytest.approx(
            expected, abs=0.25 * distance)
        np.testing.assert_allclose(raw.motion[i] / distance, norm.motion[i],
                                   atol=1e-6)


def test_rgb_equals_plain_decode_in_requested_order(panning):
    reference = decode_all_rgb(panning.path)
    rng = np.random.default_rng(1)
    with CompressedVideo(panning.path) as video:
        for _ in range(3):
            asked = rng.integers(0, video.num_frames, size=7)
            asked[-1] = asked[0]  # repeats are allowed
            out = video.decode(rgb=asked)
            assert out.rgb.shape == (7, 64, 96, 3)
            assert out.rgb.dtype == np.uint8
            for got, frame in zip(out.rgb, asked):
                np.testing.assert_array_equal(got, reference[frame])
        backwards = video.read_rgb([29, 0, 15])
        np.testing.assert_array_equal(backwards, reference[[29, 0, 15]])


def test_keyframes_are_the_gop_iframes(panning):
    reference = decode_all_rgb(panning.path)
    with CompressedVideo(panning.path) as video:
        asked = [29, 3, 17, 17]
        out = video.decode(keyframes=asked)
        expected = [video.keyframe_for(i) for i in asked]
        assert out.keyframe_indices.tolist() == expected
        assert (video.index.pict_types[expected] == 'I').all()
        for got, key in zip(out.keyframes, expected):
            np.testing.assert_array_equal(got, reference[key])


def test_one_call_serves_everything_consistently(panning):
    with CompressedVideo(panning.path) as video:
        rgb, motion, keys = [20, 5, 6], [9, 8, 27, 8], [14]
        together = video.decode(rgb=rgb, motion=motion, keyframes=keys)
        np.testing.assert_array_equal(together.rgb, video.read_rgb(rgb))
        alone_motion, alone_mask = video.read_motion(motion)
        np.testing.assert_array_equal(together.motion, alone_motion)
        np.testing.assert_array_equal(together.mask, alone_mask)
        np.testing.assert_array_equal(together.motion[1], together.motion[3])
        np.testing.assert_array_equal(
            together.keyframes[0], video.read_rgb([video.keyframe_for(14)])[0])


def test_passes_follow_the_gop_structure(panning_videos):
    spec = panning_videos['mpeg4']  # GOP of 8 frames, no B-frames
    with CompressedVideo(spec.path) as video:
        assert video.decode(rgb=[1, 2], motion=[3, 7]).passes == 1
        assert video.decode(rgb=[1], motion=[26]).passes == 2
        assert video.decode(rgb=[2, 17], motion=[25, 10]).passes == 4
        assert video.decode().passes == 0
        empty = video.decode()
        assert empty.rgb.shape == (0, 64, 96, 3)
        assert empty.motion.shape == (0, 2) + cell_grid_shape(64, 96)


def test_threaded_decoding_gives_the_same_bytes(panning_videos):
    spec = panning_videos['h264_bframes']
    with CompressedVideo(spec.path) as one, \
            CompressedVideo(spec.path, threads=0) as many:
        a = one.decode(rgb=[3, 22], motion=[4, 11, 28], keyframes=[25])
        b = many.decode(rgb=[3, 22], motion=[4, 11, 28], keyframes=[25])
    for name in ('rgb', 'motion', 'mask', 'keyframes'):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_seeking_gives_the_fields_of_a_full_pass(panning):
    with CompressedVideo(panning.path) as video:
        full = video.decode(motion=range(video.num_frames))
        assert full.passes == 1
        asked = [27, 2, 13, 13]
        out = video.decode(motion=asked)
        assert out.passes > 1
    np.testing.assert_array_equal(out.motion, full.motion[asked])
    np.testing.assert_array_equal(out.mask, full.mask[asked])


def test_raw_stream_without_timestamps_is_read_in_order(panning_videos,
                                                        tmp_path):
    spec = panning_videos['h264_bframes']
    raw = str(tmp_path / 'clip.h264')
    with av.open(spec.path) as source, av.open(raw, 'w', format='h264') as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(video=0):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    reference = decode_all_rgb(raw)
    with CompressedVideo(raw) as video:
        assert video.num_frames == len(reference) == 30
        assert video.index.keyframes.tolist() == [0, 10, 20]
        out = video.decode(rgb=[25, 2], motion=[4, 14])
    np.testing.assert_array_equal(out.rgb, reference[[25, 2]])
    for field, mask in zip(out.motion, out.mask):
        assert interior_median(field, mask) == pytest.approx(spec.motion,
                                                             abs=0.25)


def test_pyramid_reference_b_frames_shorten_the_distance(panning_videos):
    spec = panning_videos['h264_refs']  # x264 B-pyramid
    with CompressedVideo(spec.path) as video:
        index = video.index
    anchors = np.flatnonzero(index.pict_types != 'B')
    found = 0
    for t in np.flatnonzero(index.pict_types == 'B'):
        next_anchor = anchors[anchors > t]
        if next_anchor.size and index.future_distance[t] < next_anchor[0] - t:
            found += 1  # predicted from a reference B-frame, not the P
    assert found >= 3


def test_mpeg4_quarter_pel_uses_motion_scale(tmp_path):
    path = str(tmp_path / 'qpel.avi')
    with av.open(path, 'w') as container:
        stream = container.add_stream('mpeg4', rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, 'yuv420p'
        stream.options = {'g': '12', 'bf': '0', 'qscale': '2',
                          'flags': '+qscale+qpel'}
        for rgb in panning_frames((96, 64), 8, (1.25, -0.75)):
            frame = av.VideoFrame.from_ndarray(rgb, format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with CompressedVideo(path) as video:
        motion, mask = video.read_motion(range(1, 8))
    for field, frame_mask in zip(motion, mask):
        assert interior_median(field, frame_mask) == pytest.approx(
            (1.25, -0.75), abs=1e-6)


def test_small_files_replay_packets_instead_of_seeking(panning, packet_source,
                                                       monkeypatch):
    """A pass over several GOPs replays the packets kept from indexing (no
    seek in the file) unless the stream is over the cache limit."""
    with CompressedVideo(panning.path) as video:
        assert video.num_frames == panning.frames  # builds the index
        kept = video._packets
        assert (kept is not None) == (packet_source == 'packets_in_memory')
        late = video.num_frames - 2
        first = video.read_motion([late, 3])
    if kept is None:
        return
    assert len(kept) == panning.frames
    monkeypatch.setattr('mmcmd.codec.reader.PACKET_CACHE_BYTES', -1)
    with CompressedVideo(panning.path) as video:
        by_seek = video.read_motion([late, 3])
    np.testing.assert_array_equal(first[0], by_seek[0])
    np.testing.assert_array_equal(first[1], by_seek[1])
