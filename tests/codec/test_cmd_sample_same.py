"""The CMD training sample stays the same sample after the loader's speed-ups.

One ``decode()`` call gives the 16x4 clip, the future and three negative
motion windows and the keyframe. Its RGB must equal a plain PyAV decode of
every frame (``frame.to_ndarray('rgb24')``, the former conversion), and its
motion must equal the fields painted from a plain sequential decode of the
motion vectors, on the same indices at the same size: for the 340x256-like
source and for the recommended short-side-128 re-encode.
"""
from __future__ import annotations

from typing import Dict, List

import av
import numpy as np
import pytest

from mmcmd.codec import CompressedVideo
from mmcmd.codec.decoders import motion_vector_bytes
from mmcmd.codec.encode import reencode
from mmcmd.codec.motion import motion_fields
from mmcmd.codec.samples import write_panning_video
from mmcmd.codec.testing import decode_all_rgb


def cmd_indices(num_frames: int, start: int, negative_starts: List[int]
                ) -> Dict[str, np.ndarray]:
    """Clip 16x4 from ``start``, future window 3 frames after it, negatives."""
    clip = (start + np.arange(16) * 4) % num_frames
    future = (clip[-1] + 3 + np.arange(8)) % num_frames
    negatives = np.stack([s + np.arange(8) for s in negative_starts])
    return dict(clip=clip, future=future, negatives=negatives % num_frames)


def sequential_motion(path: str, frames: np.ndarray) -> np.ndarray:
    """Fields of ``frames`` from one plain decode of the whole file."""
    vectors = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {'flags2': '+export_mvs'}
        for frame in container.decode(stream):
            vectors.append(motion_vector_bytes(frame))
    with CompressedVideo(path) as video:
        index = video.index
        height, width = video.height, video.width
    field, _ = motion_fields([vectors[i] for i in frames.tolist()], height,
                             width, index.past_distance[frames],
                             index.future_distance[frames])
    return field


@pytest.fixture(scope='module')
def source_and_training_format(tmp_path_factory) -> List[str]:
    """A 160x120 H.264 source (GOP 16, CRF 23) and its short-side-128
    re-encode (170x128, GOP 16 like the source, so both share their
    keyframes)."""
    folder = tmp_path_factory.mktemp('cmd_sample')
    source = write_panning_video(str(folder / 'source.mp4'), codec='h264',
                                 size=(160, 120), frames=96,
                                 motion=(1.5, 0.5), gop=16, quality=23)
    small = str(folder / 'short_side_128.mp4')
    reencode(source, small, 'h264', short_side=128, gop=16)
    return [source, small]


@pytest.mark.parametrize('which', [0, 1], ids=['source', 'short_side_128'])
@pytest.mark.parametrize('threads', [1, 0])
def test_cmd_sample_equals_plain_decode(source_and_training_format, which,
                                        threads):
    path = source_and_training_format[which]
    with CompressedVideo(path, threads=threads) as video:
        num_frames = video.num_frames
        picked = cmd_indices(num_frames, 5, [0, 42, 71])
        motion = np.concatenate([picked['future'],
                                 picked['negatives'].reshape(-1)])
        key = video.keyframe_for(30)
        out = video.decode(rgb=picked['clip'], motion=motion,
                           keyframes=[30])
        size = (video.height, video.width)
    assert key == 16 and out.keyframe_indices.tolist() == [16]
    everything = decode_all_rgb(path)
    assert everything.shape[1:3] == size
    np.testing.assert_array_equal(out.rgb, everything[picked['clip']])
    np.testing.assert_array_equal(out.keyframes[0], everything[key])
    expected = sequential_motion(path, motion)
    np.testing.assert_array_equal(out.motion, expected)
    # The panned content moves (1.5, 0.5) px per frame in the source; the
    # re-encode scales it by 128/120.
    scale = 1.0 if which == 0 else 128 / 120
    moving = out.mask.sum(axis=(1, 2)) > 0
    assert moving.sum() >= motion.size - 3  # only I-frames are empty
    median_x = np.median(out.motion[moving, 0][out.mask[moving]])
    assert median_x == pytest.approx(1.5 * scale, abs=0.3)


def test_training_format_has_short_side_128(source_and_training_format):
    with CompressedVideo(source_and_training_format[1]) as video:
        assert (video.width, video.height) == (170, 128)
        assert video.index.keyframes[:3].tolist() == [0, 16, 32]
        assert set(video.index.pict_types.tolist()) == {'I', 'P'}
