"""The test/embedding transforms: segment-centre sampling, PIL resize,
decoded arrays; numbers checked by hand and frames against PIL."""
from __future__ import annotations

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmcv.transforms import Compose
from PIL import Image

from mmcmd.codec import NoMotionVectorsError
from mmcmd.codec.samples import panning_frames
from mmcmd.codec.testing import decode_all_rgb
from mmcmd.datasets.transforms import (
    ArrayVideoInit,
    CMDDecode,
    PILResize,
    SegmentCenterSampleFrames,
)
from mmcmd.datasets.transforms.resize import short_side_size
from mmcmd.datasets.transforms.sampling import clip_span, segment_center_starts


def test_span_of_reference_clip():
    assert clip_span(16, 4) == 61


def test_long_video_starts_at_segment_midpoints():
    # 161 frames: starts in [0, 100], 10 segments of 10 frames.
    assert segment_center_starts(161, 16, 4, 10).tolist() == list(
        range(5, 96, 10))
    results = SegmentCenterSampleFrames()(dict(total_frames=161))
    clips = results['frame_inds'].reshape(10, 16)
    assert clips[0].tolist() == list(range(5, 66, 4))
    assert clips[-1].tolist() == list(range(95, 156, 4))
    assert (results['clip_len'], results['frame_interval'],
            results['num_clips']) == (16, 4, 10)


def test_fractional_midpoints_are_truncated():
    # 100 frames: [0, 39] in segments of 3.9; midpoints 1.95, 5.85, ...
    assert segment_center_starts(100, 16, 4, 10).tolist() == [
        1, 5, 9, 13, 17, 21, 25, 29, 33, 37]
    # 62 frames: [0, 1] -> every midpoint is below 1.
    assert (segment_center_starts(62, 16, 4, 10) == 0).all()
    # 4 frames at stride 2 span 7; 30 frames -> [0, 23] in 2 halves.
    sampler = SegmentCenterSampleFrames(4, 2, 2)
    assert sampler.frame_indices(30).tolist() == [[5, 7, 9, 11],
                                                  [17, 19, 21, 23]]


def test_short_video_first_frame_or_loop():
    one_clip = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36]
    first = SegmentCenterSampleFrames(out_of_bound_opt='first_frame')
    assert (first.frame_indices(40) == one_clip + [0] * 6).all()
    loop = SegmentCenterSampleFrames(out_of_bound_opt='loop')
    assert (loop.frame_indices(40) == one_clip + [0, 4, 8, 12, 16, 20]).all()
    # Exactly one span counts as short but needs no replacement.
    assert first.frame_indices(61)[0, -1] == 60
    assert (first.frame_indices(61) == loop.frame_indices(61)).all()


def test_invalid_sampler_arguments():
    with pytest.raises(ValueError, match='>= 1'):
        SegmentCenterSampleFrames(clip_len=0)
    with pytest.raises(ValueError, match='out_of_bound_opt'):
        SegmentCenterSampleFrames(out_of_bound_opt='repeat_last')
    with pytest.raises(ValueError, match='at least one frame'):
        SegmentCenterSampleFrames()(dict(total_frames=0))


def test_resize_rounds_output_size_like_the_reference():
    assert short_side_size(240, 320, 128) == (128, 171)  # 170.67 -> 171
    assert short_side_size(40, 48, 40) == (40, 48)
    assert short_side_size(360, 202, 128) == (228, 128)  # 228.1 -> 228


@pytest.mark.parametrize('as_list', [False, True])
def test_resize_equals_pil_bilinear(as_list):
    frames = panning_frames((320, 240), 2, (3.0, 0.0), seed=5)
    results = PILResize(128)(dict(
        imgs=list(frames) if as_list else frames, img_shape=(240, 320),
        scale_factor=np.array([2.0, 2.0], np.float32)))
    assert results['imgs'].shape == (2, 128, 171, 3)
    assert results['img_shape'] == (128, 171)
    np.testing.assert_allclose(results['scale_factor'],
                               [2 * 171 / 320, 2 * 128 / 240], rtol=1e-6)
    for got, frame in zip(results['imgs'], frames):
        expected = Image.fromarray(frame).resize((171, 128), Image.BILINEAR)
        assert np.array_equal(got, np.asarray(expected))


def test_resize_refuses_motion():
    results = dict(imgs=np.zeros((1, 8, 8, 3), np.uint8), img_shape=(8, 8),
                   motion=np.zeros((1, 2, 2, 2), np.float32))
    with pytest.raises(ValueError, match='CMDResize'):
        PILResize(4)(results)


def test_file_pipeline_decodes_the_sampled_frames(panning_h264):
    # 48 frames of 128x96; 3 clips of 4 frames every 3 frames (span 10):
    # starts at the midpoints of 3 thirds of [0, 38] -> 6, 19, 31.
    pipeline = Compose([TRANSFORMS.build(step) for step in [
        dict(type='CompressedVideoInit'),
        dict(type='SegmentCenterSampleFrames', clip_len=4, frame_interval=3,
             num_clips=3),
        dict(type='CMDDecode'),
        dict(type='PILResize', short_side=64),
        dict(type='CenterCrop', crop_size=64),
        dict(type='FormatShape', input_format='NCTHW')]])
    results = pipeline(dict(filename=panning_h264, start_index=0,
                            modality='RGB'))
    indices = np.add.outer([6, 19, 31], np.arange(4) * 3).reshape(-1)
    assert results['frame_inds'].tolist() == indices.tolist()
    assert results['imgs'].shape == (3, 3, 4, 64, 64)
    frames = decode_all_rgb(panning_h264, indices)
    for n, frame in enumerate(frames):  # 128x96 -> 85x64, crop left 10
        image = Image.fromarray(frame).resize((85, 64), Image.BILINEAR)
        got = results['imgs'][n // 4, :, n % 4].transpose(1, 2, 0)
        assert np.array_equal(got, np.asarray(image)[:, 10:74])


def test_array_init_feeds_cmd_decode():
    frames = panning_frames((20, 12), 6, (1.0, 0.0))
    results = ArrayVideoInit()(dict(array=frames))
    assert results['total_frames'] == 6
    results['frame_inds'] = np.array([5, 0, 5])
    results = CMDDecode()(results)
    assert np.array_equal(results['imgs'], frames[[5, 0, 5]])
    assert results['motion'].shape == (0, 2, 3, 5)
    assert results['video_reader'] is None
    with pytest.raises(NoMotionVectorsError, match='<array>'):
        ArrayVideoInit()(dict(array=frames))['video_reader'].decode(
            motion=[1])
    with pytest.raises(ValueError, match='uint8'):
        ArrayVideoInit()(dict(array=frames.astype(np.float32)))
