"""Colour augmentation of an RGB clip or keyframe, vectorised over frames.

mmaction2's ``ColorJitter`` fixes the order of its operations when built,
has no probability and loops over frames in Python; mmcv's
``RandomGrayscale`` handles one BGR image under ``img``. This transform
draws one set of parameters per key and applies it to every frame of that
key at once.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

#: ITU-R BT.601 luma weights for R, G, B.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def grayscale(images: np.ndarray) -> np.ndarray:
    """Luma of RGB images (..., H, W, 3) as float32 (..., H, W, 1)."""
    return (images.astype(np.float32) @ LUMA)[..., None]


def shift_hue(images: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue of RGB images (..., H, W, 3) by ``shift`` turns."""
    pixels = np.clip(images, 0, 255).astype(np.uint8)
    flat = pixels.reshape(-1, pixels.shape[-2], 3)
    hsv = cv2.cvtColor(flat, cv2.COLOR_RGB2HSV)  # OpenCV hue: 0..179
    hue = hsv[..., 0].astype(np.int16) + int(round(shift * 180))
    hsv[..., 0] = np.mod(hue, 180).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).reshape(images.shape).astype(
        np.float32)


def jitter_colours(images: np.ndarray, brightness: float, contrast: float,
                   saturation: float, hue: float, order: Sequence[int]
                   ) -> np.ndarray:
    """Brightness/contrast/saturation factors and a hue shift, in order."""
    out = images.astype(np.float32)
    for step in order:
        if step == 0:
            out *= brightness
        elif step == 1:
            mean = grayscale(out).mean(axis=(-3, -2, -1), keepdims=True)
            out = out * contrast + (1 - contrast) * mean
        elif step == 2:
            out = out * saturation + (1 - saturation) * grayscale(out)
        elif hue:
            out = shift_hue(out, hue)
    return np.clip(out, 0, 255)


@TRANSFORMS.register_module()
class CMDColorAugment(BaseTransform):
    """Colour jitter, grayscale and Gaussian blur, drawn once per key.

    Required Keys:

        - the ``keys`` present (by default imgs, keyframe)

    Added Keys:

        - none

    Modified Keys:

        - the ``keys`` present (uint8 RGB, same shape)

    Args:
        keys: results keys holding RGB uint8 images (..., H, W, 3); each key
            gets its own random draw, shared by all its frames.
        jitter: brightness, contrast, saturation, hue strengths (factors in
            [1 - s, 1 + s], hue shift in [-h, h] turns), applied in random
            order with probability ``jitter_prob``.
        jitter_prob: probability of the colour jitter.
        grayscale_prob: probability of replacing colour by luma.
        blur_sigma: range of the Gaussian blur sigma in pixels, applied with
            probability ``blur_prob``.
        blur_prob: probability of the blur.
    """

    def __init__(self, keys: Sequence[str] = ('imgs', 'keyframe'),
                 jitter: Sequence[float] = (0.4, 0.4, 0.4, 0.1),
                 jitter_prob: float = 0.5, grayscale_prob: float = 0.2,
                 blur_sigma: Sequence[float] = (0.1, 2.0),
                 blur_prob: float = 0.5) -> None:
        self.keys = tuple(keys)
        self.jitter = tuple(float(v) for v in jitter)
        self.jitter_prob = jitter_prob
        self.grayscale_prob = grayscale_prob
        self.blur_sigma = tuple(blur_sigma)
        self.blur_prob = blur_prob

    def augment(self, images: np.ndarray) -> np.ndarray:
        """One random draw applied to every frame of ``images``."""
        out = images
        if np.random.rand() < self.jitter_prob:
            b, c, s, h = self.jitter
            out = jitter_colours(
                out, np.random.uniform(1 - b, 1 + b),
                np.random.uniform(1 - c, 1 + c),
                np.random.uniform(1 - s, 1 + s), np.random.uniform(-h, h),
                np.random.permutation(4))
        if np.random.rand() < self.grayscale_prob:
            out = np.repeat(grayscale(out), 3, axis=-1)
        if np.random.rand() < self.blur_prob:
            sigma = np.random.uniform(*self.blur_sigma)
            frames = np.asarray(out, np.float32).reshape(
                (-1,) + out.shape[-3:])
            out = np.stack([cv2.GaussianBlur(f, (0, 0), sigma)
                            for f in frames]).reshape(out.shape)
        if out is images:
            return images
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def transform(self, results: dict) -> dict:
        """Augment each key present in ``results``."""
        for key in self.keys:
            if key in results:
                results[key] = self.augment(np.asarray(results[key]))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(keys={self.keys}, jitter='
                f'{self.jitter}, jitter_prob={self.jitter_prob}, '
                f'grayscale_prob={self.grayscale_prob}, blur_sigma='
                f'{self.blur_sigma}, blur_prob={self.blur_prob})')
