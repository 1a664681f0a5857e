"""Colour augmentation, motion normalisation and packing, checked by value."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from mmcmd.datasets.transforms import (
    CMDColorAugment,
    MotionNormalize,
    PackCMDInputs,
)


def clip(seed=0, frames=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (frames, 16, 20, 3), dtype=np.uint8)


def test_no_augmentation_when_probabilities_are_zero():
    images = clip()
    out = CMDColorAugment(jitter_prob=0, grayscale_prob=0, blur_prob=0)(
        dict(imgs=images))['imgs']
    assert out is images


def test_grayscale_is_luma_on_every_frame():
    images = clip()
    out = CMDColorAugment(jitter_prob=0, grayscale_prob=1, blur_prob=0)(
        dict(imgs=images))['imgs']
    luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114],
                                                np.float32)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    np.testing.assert_array_equal(out[..., 0], np.rint(luma).astype(np.uint8))


def test_brightness_factor_is_shared_by_all_frames():
    np.random.seed(4)
    images = np.full((4, 8, 8, 3), 100, np.uint8)
    images[2] = 50
    out = CMDColorAugment(jitter=(0.4, 0, 0, 0), jitter_prob=1,
                          grayscale_prob=0, blur_prob=0)(
        dict(imgs=images))['imgs']
    bright = float(out[0, 0, 0, 0])
    assert 60 <= bright <= 140 and bright != 100
    assert len(np.unique(out[2])) == 1
    # 50 * b rounds to within 0.5 + 0.5 / 2 of half of round(100 * b).
    assert abs(float(out[2, 0, 0, 0]) - bright / 2) <= 0.75
    assert len(np.unique(out[[0, 1, 3]])) == 1


def test_blur_equals_opencv_gaussian():
    images = clip(frames=2)
    out = CMDColorAugment(jitter_prob=0, grayscale_prob=0, blur_prob=1,
                          blur_sigma=(1.5, 1.5))(dict(imgs=images))['imgs']
    for got, frame in zip(out, images):
        expected = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), 1.5)
        np.testing.assert_array_equal(got, np.clip(np.rint(expected), 0, 255))


def test_hue_shift_by_half_a_turn_swaps_complements():
    images = np.zeros((1, 4, 4, 3), np.uint8)
    images[..., 0] = 255  # pure red
    np.random.seed(0)
    augment = CMDColorAugment(jitter=(0, 0, 0, 0.5), jitter_prob=1,
                              grayscale_prob=0, blur_prob=0)
    from mmcmd.datasets.transforms.color import shift_hue
    np.testing.assert_array_equal(shift_hue(images, 0.5)[0, 0, 0],
                                  [0, 255, 255])  # red -> cyan
    assert augment(dict(imgs=images))['imgs'].shape == images.shape


def test_motion_normalize_clamps_then_scales():
    motion = np.array([[-25.0, -10.0, 3.0, 12.0]], np.float32)
    out = MotionNormalize()(dict(motion=motion.copy(),
                                 negative_motion=motion.copy()))
    np.testing.assert_allclose(out['motion'], [[-1.0, -1.0, 0.3, 1.0]])
    np.testing.assert_allclose(out['negative_motion'], out['motion'])


def test_pack_layouts():
    rng = np.random.default_rng(0)
    results = dict(
        imgs=rng.integers(0, 256, (4, 6, 8, 3), dtype=np.uint8),
        keyframe=rng.integers(0, 256, (6, 8, 3), dtype=np.uint8),
        motion=rng.normal(size=(2, 2, 6, 8)).astype(np.float32),
        motion_mask=rng.random((2, 6, 8)) > 0.5,
        negative_motion=rng.normal(size=(3, 2, 2, 6, 8)).astype(np.float32),
        filename='a.mp4', label=1)
    packed = PackCMDInputs(with_mask=True)(dict(results))
    inputs = packed['inputs']
    assert torch.equal(inputs['imgs'][:, 1],
                       torch.from_numpy(results['imgs'][1]).permute(2, 0, 1))
    assert torch.equal(inputs['keyframe'],
                       torch.from_numpy(results['keyframe']).permute(2, 0, 1))
    assert torch.equal(inputs['motion'][0, 1],
                       torch.from_numpy(results['motion'][1, 0]))
    assert torch.equal(inputs['negative_motion'][2, 1, 0],
                       torch.from_numpy(results['negative_motion'][2, 0, 1]))
    assert inputs['motion_mask'].dtype == torch.bool
    assert packed['data_samples'].filename == 'a.mp4'
    assert packed['data_samples'].gt_label.item() == 1
