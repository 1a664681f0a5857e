"""CMD sampling arithmetic and the full pipeline on a real H.264 file."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import Compose

from mmcmd.codec import CompressedVideo, VideoOpenError
from mmcmd.codec.testing import decode_all_rgb
from mmcmd.datasets.transforms import (
    CMDDecode,
    CMDSampleFrames,
    CompressedVideoInit,
)


@pytest.mark.parametrize('seed', range(5))
def test_sampling_layout(seed):
    np.random.seed(seed)
    sampler = CMDSampleFrames()  # reference defaults: 16x4, gap 2, 8, 3
    results = sampler(dict(total_frames=300))
    clip = results['frame_inds']
    assert clip.tolist() == list(range(clip[0], clip[0] + 61, 4))
    motion = results['motion_inds']
    assert motion.tolist() == list(range(clip[-1] + 3, clip[-1] + 11))
    assert motion[-1] < 300
    negatives = results['negative_motion_inds']
    assert negatives.shape == (3, 8)
    for window in negatives:
        assert np.all(np.diff(window) == 1)
        assert not set(window.tolist()) & set(motion.tolist())
    assert clip[0] - 5 <= results['keyframe_ind'] <= clip[-1] + 5


def test_sampling_test_mode_is_deterministic_and_centred():
    sampler = CMDSampleFrames(test_mode=True)
    a = sampler(dict(total_frames=171))
    b = sampler(dict(total_frames=171))
    for key in ('frame_inds', 'motion_inds', 'negative_motion_inds'):
        np.testing.assert_array_equal(a[key], b[key])
    assert a['frame_inds'][0] == (171 - 71) // 2


def test_short_video_loops():
    np.random.seed(0)
    results = CMDSampleFrames(clip_len=8, frame_interval=4, motion_len=8,
                              num_negatives=2)(dict(total_frames=20))
    assert results['frame_inds'].tolist() == [0, 4, 8, 12, 16, 0, 4, 8]
    assert results['motion_inds'].tolist() == [
        (31 + i) % 20 for i in range(8)]
    assert results['negative_motion_inds'].shape == (2, 8)
    assert results['negative_motion_inds'].max() < 20


def test_keyframe_is_the_gop_iframe(panning_h264):
    np.random.seed(1)
    results = CompressedVideoInit()(dict(filename=panning_h264))
    video = results['video_reader']
    results = CMDSampleFrames(clip_len=4, frame_interval=3, motion_len=4,
                              num_negatives=2, keyframe_margin=5)(results)
    key = results['keyframe_ind']
    assert video.index.pict_types[key] == 'I' and key % 12 == 0
    results = CMDDecode()(results)
    assert results['video_reader'] is None and video._container is None
    reference = decode_all_rgb(panning_h264)
    np.testing.assert_array_equal(results['keyframe'], reference[key])
    np.testing.assert_array_equal(results['imgs'],
                                  reference[results['frame_inds']])
    assert results['motion'].shape == (4, 2, 24, 32)
    assert results['negative_motion'].shape == (2, 4, 2, 24, 32)
    assert results['negative_motion_mask'].shape == (2, 4, 24, 32)


def pipeline(flip_ratio: float):
    return Compose([TRANSFORMS.build(cfg) for cfg in [
        dict(type='CompressedVideoInit'),
        dict(type='CMDSampleFrames', clip_len=4, frame_interval=2,
             motion_len=4, num_negatives=2),
        dict(type='CMDDecode'),
        dict(type='CMDResize', scale=(64, 48)),
        dict(type='CMDFlip', flip_ratio=flip_ratio),
        dict(type='KeyframeAugment', scale=(64, 48), flip_ratio=0.0),
        dict(type='CMDColorAugment'),
        dict(type='MotionNormalize'),
        dict(type='PackCMDInputs'),
    ]])


def interior_median(motion, frame_mask):
    """Median (x, y) of (2, T, H, W) motion over masked interior pixels."""
    inner = frame_mask[:, 8:-8, 8:-8]
    return (float(np.median(motion[0][:, 8:-8, 8:-8][inner])),
            float(np.median(motion[1][:, 8:-8, 8:-8][inner])))


@pytest.mark.parametrize('flip_ratio', [0.0, 1.0])
def test_full_pipeline_shapes_and_motion_direction(panning_h264, pan_motion,
                                                  flip_ratio):
    np.random.seed(2)
    packed = pipeline(flip_ratio)(dict(filename=panning_h264, label=3))
    inputs = packed['inputs']
    assert inputs['imgs'].dtype == torch.uint8
    assert tuple(inputs['imgs'].shape) == (3, 4, 48, 64)
    assert tuple(inputs['keyframe'].shape) == (3, 48, 64)
    assert inputs['keyframe'].dtype == torch.uint8
    assert inputs['motion'].dtype == torch.float32
    assert tuple(inputs['motion'].shape) == (2, 4, 48, 64)
    assert tuple(inputs['negative_motion'].shape) == (2, 2, 4, 48, 64)
    assert packed['data_samples'].gt_label.item() == 3
    motion = inputs['motion'].numpy()
    mask = np.abs(motion).sum(axis=0) > 0
    # Resize 128x96 -> 64x48 halves the motion; normalisation divides by 10.
    sign = -1.0 if flip_ratio else 1.0
    expected = (sign * pan_motion[0] * 0.5 / 10, pan_motion[1] * 0.5 / 10)
    assert interior_median(motion, mask) == pytest.approx(expected,
                                                          abs=0.0125)


def test_codec_errors_propagate(tmp_path):
    empty = tmp_path / 'broken.mp4'
    empty.write_bytes(b'')
    with pytest.raises(VideoOpenError, match='broken.mp4'):
        pipeline(0.0)(dict(filename=str(empty)))


def test_decode_uses_one_call(panning_h264, monkeypatch):
    calls = []
    original = CompressedVideo.decode

    def counting(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CompressedVideo, 'decode', counting)
    pipeline(0.5)(dict(filename=panning_h264))
    assert len(calls) == 1
    assert len(calls[0]['motion']) == 4 + 2 * 4
