"""Crops, resizes and flips that keep RGB clip, motion and mask consistent.

The clip ``imgs`` (T, H, W, 3) and its future ``motion`` (T_m, 2, h, w) with
``motion_mask`` share one crop and one flip; every hard-negative motion
window gets its own; the keyframe is augmented on its own by
:class:`KeyframeAugment`. Motion is resampled to the output size with
nearest-neighbour sampling (it is constant per codec block, so vectors stay
exact and mask-consistent) and its values are rescaled: x by
out_w / crop_w, y by out_h / crop_h. A flip mirrors the map and negates x.
``results['motion_cell']`` is the size of one motion sample in pixels of
the current image (4 after decoding, 1 once motion is resampled to the
image grid).
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

Box = Tuple[int, int, int, int]  # x, y, width, height in pixels
Size = Tuple[int, int]  # width, height in pixels


def random_resized_box(height: int, width: int,
                       area_range: Sequence[float] = (0.2, 1.0),
                       aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3),
                       attempts: int = 10) -> Box:
    """Random box with area share and log-uniform aspect ratio (w / h)."""
    area = height * width
    log_ratio = np.log(aspect_ratio_range)
    for _ in range(attempts):
        target = area * np.random.uniform(*area_range)
        ratio = math.exp(np.random.uniform(*log_ratio))
        crop_w = int(round(math.sqrt(target * ratio)))
        crop_h = int(round(math.sqrt(target / ratio)))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            x = int(np.random.randint(width - crop_w + 1))
            y = int(np.random.randint(height - crop_h + 1))
            return x, y, crop_w, crop_h
    side = min(height, width)  # fall back to the central square
    return (width - side) // 2, (height - side) // 2, side, side


def center_box(height: int, width: int, crop: Size) -> Box:
    """Box of size ``crop`` (w, h) centred in the image (clipped to it)."""
    crop_w, crop_h = min(crop[0], width), min(crop[1], height)
    return (width - crop_w) // 2, (height - crop_h) // 2, crop_w, crop_h


def crop_resize_images(images: np.ndarray, box: Box, size: Size,
                       interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Crop ``box`` from images (..., H, W, C), resize to ``size`` (w, h)."""
    x, y, w, h = box
    crop = images[..., y:y + h, x:x + w, :]
    if (w, h) == tuple(size):
        return np.ascontiguousarray(crop)
    flat = crop.reshape((-1,) + crop.shape[-3:])
    out = np.stack([cv2.resize(frame, tuple(size), interpolation=interpolation)
                    for frame in flat])
    return out.reshape(crop.shape[:-3] + out.shape[1:])


def crop_resize_motion(motion: np.ndarray, mask: np.ndarray, box: Box,
                       size: Size, cell: float
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Resample motion (..., 2, h, w) and mask (..., h, w) to a crop's output.

    ``box`` is in image pixels, ``cell`` the image pixels per motion sample.
    The result is on the output pixel grid (..., 2, out_h, out_w) with x
    scaled by out_w / box_w and y by out_h / box_h.
    """
    x, y, w, h = box
    out_w, out_h = size
    rows, cols = motion.shape[-2:]
    # Nearest sample under the centre of each output pixel.
    src_x = x + (np.arange(out_w) + 0.5) * (w / out_w)
    src_y = y + (np.arange(out_h) + 0.5) * (h / out_h)
    ix = np.clip((src_x / cell).astype(np.int64), 0, cols - 1)
    iy = np.clip((src_y / cell).astype(np.int64), 0, rows - 1)
    field = motion.take(iy, axis=-2).take(ix, axis=-1)
    field[..., 0, :, :] *= out_w / w
    field[..., 1, :, :] *= out_h / h
    return field, mask.take(iy, axis=-2).take(ix, axis=-1)


def flip_motion(motion: np.ndarray, mask: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Mirror motion (..., 2, h, w) and mask left-right; negate x."""
    field = motion[..., ::-1].copy()
    field[..., 0, :, :] *= -1
    return field, np.ascontiguousarray(mask[..., ::-1])


def _size(scale: Union[int, Sequence[int]]) -> Size:
    """(w, h) from an int or a pair."""
    if isinstance(scale, int):
        return scale, scale
    return int(scale[0]), int(scale[1])


class _ClipGeometry(BaseTransform):
    """Apply one box to clip + future motion, one per negative window."""

    def clip_box(self, height: int, width: int) -> Box:
        raise NotImplementedError

    def negative_box(self, height: int, width: int) -> Box:
        return self.clip_box(height, width)

    def output_size(self, height: int, width: int, box: Box) -> Size:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        """Crop/resize ``imgs``, ``motion`` and each negative window."""
        height, width = results['img_shape']
        cell = results.get('motion_cell', 4.0)
        box = self.clip_box(height, width)
        size = self.output_size(height, width, box)
        results['imgs'] = crop_resize_images(results['imgs'], box, size)
        if 'motion' in results:
            results['motion'], results['motion_mask'] = crop_resize_motion(
                results['motion'], results['motion_mask'], box, size, cell)
        negatives = results.get('negative_motion')
        if negatives is not None:
            masks = results['negative_motion_mask']
            pairs = [crop_resize_motion(
                negatives[i], masks[i], self.negative_box(height, width),
                size, cell) for i in range(len(negatives))]
            shape = (len(pairs),) + negatives.shape[1:3] + (size[1], size[0])
            results['negative_motion'] = (
                np.stack([p[0] for p in pairs]) if pairs
                else np.zeros(shape, np.float32))
            results['negative_motion_mask'] = (
                np.stack([p[1] for p in pairs]) if pairs
                else np.zeros(shape[:2] + shape[3:], bool))
        results['crop_bbox'] = np.array(box)
        results['img_shape'] = (size[1], size[0])
        results['motion_cell'] = 1.0
        return results


@TRANSFORMS.register_module()
class CMDRandomResizedCrop(_ClipGeometry):
    """Random resized crop shared by clip and future motion, own per negative.

    Required Keys:

        - imgs
        - img_shape
        - motion_cell (optional, 4.0 if absent)
        - motion, motion_mask (optional)
        - negative_motion, negative_motion_mask (optional)

    Added Keys:

        - crop_bbox: (x, y, w, h) of the clip's box

    Modified Keys:

        - imgs
        - img_shape
        - motion_cell (1.0: motion is on the image grid)
        - motion, motion_mask, negative_motion, negative_motion_mask

    Args:
        area_range: share of the frame area kept.
        aspect_ratio_range: width / height range (sampled log-uniformly).
        scale: output (width, height) in pixels.
    """

    def __init__(self, area_range: Sequence[float] = (0.2, 1.0),
                 aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3),
                 scale: Union[int, Sequence[int]] = (112, 112)) -> None:
        self.area_range = tuple(area_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.scale = _size(scale)

    def clip_box(self, height: int, width: int) -> Box:
        return random_resized_box(height, width, self.area_range,
                                  self.aspect_ratio_range)

    def output_size(self, height: int, width: int, box: Box) -> Size:
        return self.scale

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(area_range={self.area_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, '
                f'scale={self.scale})')


@TRANSFORMS.register_module()
class CMDCenterCrop(_ClipGeometry):
    """Centre crop of ``crop_size`` for clip and all motion.

    Required Keys:

        - imgs
        - img_shape
        - motion_cell (optional, 4.0 if absent)
        - motion, motion_mask (optional)
        - negative_motion, negative_motion_mask (optional)

    Added Keys:

        - crop_bbox: (x, y, w, h) of the clip's box

    Modified Keys:

        - imgs
        - img_shape
        - motion_cell (1.0: motion is on the image grid)
        - motion, motion_mask, negative_motion, negative_motion_mask

    Args:
        crop_size: side (int) or (width, height) in pixels; clipped to the
            image.
    """

    def __init__(self, crop_size: Union[int, Sequence[int]] = 112) -> None:
        self.crop_size = _size(crop_size)

    def clip_box(self, height: int, width: int) -> Box:
        return center_box(height, width, self.crop_size)

    def output_size(self, height: int, width: int, box: Box) -> Size:
        return box[2], box[3]

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class CMDResize(_ClipGeometry):
    """Resize clip and all motion to ``scale``.

    Required Keys:

        - imgs
        - img_shape
        - motion_cell (optional, 4.0 if absent)
        - motion, motion_mask (optional)
        - negative_motion, negative_motion_mask (optional)

    Added Keys:

        - crop_bbox: (x, y, w, h) of the clip's box

    Modified Keys:

        - imgs
        - img_shape
        - motion_cell (1.0: motion is on the image grid)
        - motion, motion_mask, negative_motion, negative_motion_mask

    Args:
        scale: (width, height) in pixels, or the short side (int; the
            aspect ratio is kept).
    """

    def __init__(self, scale: Union[int, Sequence[int]] = 128) -> None:
        self.scale = scale

    def clip_box(self, height: int, width: int) -> Box:
        return 0, 0, width, height

    def output_size(self, height: int, width: int, box: Box) -> Size:
        if isinstance(self.scale, int):
            short = min(height, width)
            return (int(round(width * self.scale / short)),
                    int(round(height * self.scale / short)))
        return _size(self.scale)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale})'


@TRANSFORMS.register_module()
class CMDFlip(BaseTransform):
    """Horizontal flip shared by clip and future motion, own per negative.

    Flipping mirrors images, motion and masks and negates motion x.

    Required Keys:

        - imgs
        - motion, motion_mask (optional)
        - negative_motion, negative_motion_mask (optional)

    Added Keys:

        - flip
        - flip_direction ('horizontal' or None)

    Modified Keys:

        - imgs
        - motion, motion_mask, negative_motion, negative_motion_mask

    Args:
        flip_ratio: probability of flipping the clip (and, drawn apart, each
            negative window).
    """

    def __init__(self, flip_ratio: float = 0.5) -> None:
        self.flip_ratio = flip_ratio

    def _draw(self) -> bool:
        return bool(np.random.rand() < self.flip_ratio)

    def transform(self, results: dict) -> dict:
        """Flip with probability ``flip_ratio`` (negatives drawn apart)."""
        flip = self._draw()
        if flip:
            results['imgs'] = np.ascontiguousarray(
                results['imgs'][..., ::-1, :])
            if 'motion' in results:
                results['motion'], results['motion_mask'] = flip_motion(
                    results['motion'], results['motion_mask'])
        negatives = results.get('negative_motion')
        if negatives is not None and len(negatives):
            masks = results['negative_motion_mask'].copy()
            negatives = negatives.copy()
            for i in range(len(negatives)):
                if self._draw():
                    negatives[i], masks[i] = flip_motion(negatives[i],
                                                         masks[i])
            results['negative_motion'] = negatives
            results['negative_motion_mask'] = masks
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(flip_ratio={self.flip_ratio})'


@TRANSFORMS.register_module()
class KeyframeAugment(BaseTransform):
    """The keyframe's own random resized crop and flip (drawn independently).

    Required Keys:

        - keyframe

    Added Keys:

        - none

    Modified Keys:

        - keyframe

    Args:
        area_range: share of the frame area kept.
        aspect_ratio_range: width / height range (sampled log-uniformly).
        scale: output (width, height) in pixels.
        flip_ratio: probability of a horizontal flip.
        test_mode: centre crop of the short side instead, no flip.
    """

    def __init__(self, area_range: Sequence[float] = (0.2, 1.0),
                 aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3),
                 scale: Union[int, Sequence[int]] = (112, 112),
                 flip_ratio: float = 0.5, test_mode: bool = False) -> None:
        self.area_range = tuple(area_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.scale = _size(scale)
        self.flip_ratio = flip_ratio
        self.test_mode = test_mode

    def transform(self, results: dict) -> dict:
        """Crop, resize and maybe flip ``results['keyframe']`` (H, W, 3)."""
        keyframe: np.ndarray = results['keyframe']
        height, width = keyframe.shape[:2]
        if self.test_mode:
            side = min(height, width)
            box: Box = ((width - side) // 2, (height - side) // 2, side, side)
        else:
            box = random_resized_box(height, width, self.area_range,
                                     self.aspect_ratio_range)
        keyframe = crop_resize_images(keyframe, box, self.scale)
        if not self.test_mode and np.random.rand() < self.flip_ratio:
            keyframe = np.ascontiguousarray(keyframe[:, ::-1])
        results['keyframe'] = keyframe
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(area_range={self.area_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, scale='
                f'{self.scale}, flip_ratio={self.flip_ratio}, '
                f'test_mode={self.test_mode})')

