"""Crop, resize and flip of motion fields against hand-computed fields."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mmcmd.datasets.transforms import (
    CMDCenterCrop,
    CMDFlip,
    CMDRandomResizedCrop,
    CMDResize,
    KeyframeAugment,
)
from mmcmd.datasets.transforms.geometry import (
    crop_resize_images,
    crop_resize_motion,
    flip_motion,
)


def constant_field(value, frames=2, rows=16, cols=24):
    motion = np.empty((frames, 2, rows, cols), np.float32)
    motion[:, 0], motion[:, 1] = value
    return motion, np.ones((frames, rows, cols), bool)


def test_constant_field_is_rescaled_by_the_resize_factors():
    motion, mask = constant_field((3.0, -2.0))
    field, out_mask = crop_resize_motion(motion, mask, (8, 4, 48, 40),
                                         (24, 20), cell=4.0)
    assert field.shape == (2, 2, 20, 24) and out_mask.shape == (2, 20, 24)
    np.testing.assert_allclose(field[:, 0], 3.0 * 24 / 48)
    np.testing.assert_allclose(field[:, 1], -2.0 * 20 / 40)
    assert out_mask.all()


def test_linear_field_samples_the_cell_under_each_output_pixel():
    rows, cols = 16, 24
    motion = np.zeros((1, 2, rows, cols), np.float32)
    motion[0, 0] = np.arange(cols)[None, :]       # x = cell column
    motion[0, 1] = np.arange(rows)[:, None] * 2.0  # y = 2 * cell row
    mask = np.zeros((1, rows, cols), bool)
    mask[0, :, 10:] = True
    box, size = (16, 8, 64, 32), (32, 64)  # x, y, w, h / out w, h
    field, out_mask = crop_resize_motion(motion, mask, box, size, cell=4.0)
    u = np.arange(32)
    v = np.arange(64)
    col = np.floor((16 + (u + 0.5) * 64 / 32) / 4).astype(int)
    row = np.floor((8 + (v + 0.5) * 32 / 64) / 4).astype(int)
    np.testing.assert_allclose(field[0, 0], np.tile(col * (32 / 64), (64, 1)))
    expected_y = (row * 2.0 * 64 / 32)[:, None]
    np.testing.assert_allclose(field[0, 1], np.tile(expected_y, (1, 32)))
    np.testing.assert_array_equal(out_mask[0], np.tile(col >= 10, (64, 1)))


def test_flip_mirrors_and_negates_x():
    rng = np.random.default_rng(0)
    motion = rng.normal(size=(3, 2, 5, 7)).astype(np.float32)
    mask = rng.random((3, 5, 7)) > 0.5
    field, out_mask = flip_motion(motion, mask)
    np.testing.assert_array_equal(field[:, 0], -motion[:, 0, :, ::-1])
    np.testing.assert_array_equal(field[:, 1], motion[:, 1, :, ::-1])
    np.testing.assert_array_equal(out_mask, mask[:, :, ::-1])
    again, again_mask = flip_motion(field, out_mask)
    np.testing.assert_array_equal(again, motion)
    np.testing.assert_array_equal(again_mask, mask)


def coordinate_results(height=64, width=96, frames=3, negatives=3):
    """Results whose images encode pixel x and motion encodes cell x."""
    xs = np.broadcast_to(np.arange(width, dtype=np.uint8)[None, :, None],
                         (height, width, 3))
    imgs = np.stack([xs] * frames).copy()
    motion, mask = constant_field((1.0, 1.0), frames=2, rows=height // 4,
                                  cols=width // 4)
    motion[:, 0] = np.arange(width // 4)[None, None, :]
    neg = np.stack([constant_field((1.0, 0.0), 2, height // 4, width // 4)[0]
                    for _ in range(negatives)])
    neg_mask = np.ones(neg.shape[:2] + neg.shape[3:], bool)
    return dict(imgs=imgs, motion=motion, motion_mask=mask,
                negative_motion=neg, negative_motion_mask=neg_mask,
                img_shape=(height, width), motion_cell=4.0)


def test_random_resized_crop_keeps_clip_and_motion_aligned():
    np.random.seed(3)
    results = CMDRandomResizedCrop(scale=(32, 24))(coordinate_results())
    x, y, w, h = results['crop_bbox']
    assert results['imgs'].shape == (3, 24, 32, 3)
    assert results['motion'].shape == (2, 2, 24, 32)
    assert results['negative_motion'].shape == (3, 2, 2, 24, 32)
    assert results['img_shape'] == (24, 32) and results['motion_cell'] == 1.0
    expected = crop_resize_images(coordinate_results()['imgs'], (x, y, w, h),
                                  (32, 24))
    np.testing.assert_array_equal(results['imgs'], expected)
    # The pixel x under each output column and the motion cell it falls in.
    centre = x + (np.arange(32) + 0.5) * w / 32
    np.testing.assert_allclose(results['motion'][0, 0, 0],
                               np.floor(centre / 4) * 32 / w)
    # Each negative window has its own crop: constant x = 1 * 32 / crop_w.
    scales = {float(n[0, 0, 0, 0]) for n in results['negative_motion']}
    assert len(scales | {32 / w}) > 1


def test_center_crop_and_resize_for_testing():
    results = CMDResize(scale=48)(coordinate_results())
    assert results['imgs'].shape == (3, 48, 72, 3)
    np.testing.assert_allclose(results['negative_motion'][..., 0, :, :],
                               72 / 96)
    results = CMDCenterCrop(crop_size=40)(results)
    assert results['imgs'].shape == (3, 40, 40, 3)
    assert results['motion'].shape == (2, 2, 40, 40)
    np.testing.assert_allclose(results['negative_motion'][..., 0, :, :],
                               72 / 96)  # a crop alone keeps magnitudes
    np.testing.assert_array_equal(results['crop_bbox'], (16, 4, 40, 40))


@pytest.mark.parametrize('ratio', [0.0, 1.0])
def test_flip_transform(ratio):
    before = coordinate_results()
    results = CMDFlip(flip_ratio=ratio)(coordinate_results())
    if ratio:
        np.testing.assert_array_equal(results['imgs'],
                                      before['imgs'][:, :, ::-1])
        np.testing.assert_array_equal(results['motion'][:, 0],
                                      -before['motion'][:, 0, :, ::-1])
        np.testing.assert_array_equal(results['negative_motion'][..., 0, :, :],
                                      -1.0)
    else:
        for key in ('imgs', 'motion', 'negative_motion'):
            np.testing.assert_array_equal(results[key], before[key])
    assert results['flip'] is bool(ratio)


def test_keyframe_augment():
    rng = np.random.default_rng(0)
    keyframe = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    out = KeyframeAugment(scale=(32, 32), test_mode=True)(
        dict(keyframe=keyframe))['keyframe']
    np.testing.assert_array_equal(
        out, cv2.resize(keyframe[:, 10:70], (32, 32),
                        interpolation=cv2.INTER_LINEAR))
    np.random.seed(0)
    out = KeyframeAugment(scale=(32, 24))(dict(keyframe=keyframe))['keyframe']
    assert out.shape == (24, 32, 3) and out.dtype == np.uint8
