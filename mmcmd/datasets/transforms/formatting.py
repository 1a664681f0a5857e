"""Motion value normalisation and packing of CMD samples into tensors."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class MotionNormalize(BaseTransform):
    """Clamp motion to [-clamp, clamp] px/frame, then divide by ``scale``.

    Required Keys:

        - the ``keys`` present (by default motion, negative_motion)

    Added Keys:

        - none

    Modified Keys:

        - the ``keys`` present: float32, clamped and divided by ``scale``

    Args:
        clamp: largest magnitude kept, in pixels per frame.
        scale: divisor applied after clamping.
        keys: results keys holding motion arrays; absent keys are skipped.
    """

    def __init__(self, clamp: float = 10.0, scale: float = 10.0,
                 keys: Sequence[str] = ('motion', 'negative_motion')) -> None:
        self.clamp = clamp
        self.scale = scale
        self.keys = tuple(keys)

    def transform(self, results: dict) -> dict:
        """Normalise every motion key present."""
        for key in self.keys:
            if key in results:
                motion = np.clip(results[key], -self.clamp, self.clamp)
                results[key] = (motion / self.scale).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clamp={self.clamp}, '
                f'scale={self.scale}, keys={self.keys})')


@TRANSFORMS.register_module()
class PackCMDInputs(BaseTransform):
    """Pack a CMD sample for ``CMDDataPreprocessor``.

    ``inputs`` is a dict of tensors:

    - ``imgs``: uint8 (3, T, H, W) RGB clip,
    - ``keyframe``: uint8 (3, H, W) RGB,
    - ``motion``: float32 (2, T_m, H, W) future window (x, y),
    - ``negative_motion``: float32 (N, 2, T_m, H, W),
    - ``motion_mask`` / ``negative_motion_mask``: bool (T_m, H, W) /
      (N, T_m, H, W), only with ``with_mask=True``.

    Keys missing from ``results`` are left out. ``data_samples`` is an
    ``ActionDataSample`` with ``gt_label`` when ``label`` is present and
    ``meta_keys`` copied into its metainfo.

    Required Keys:

        - imgs, keyframe, motion, negative_motion (each optional)
        - motion_mask, negative_motion_mask (optional, with ``with_mask``)
        - label (optional)
        - the ``meta_keys`` present

    Added Keys:

        - inputs
        - data_samples

    Modified Keys:

        - none (the output dict holds only the two added keys)

    Args:
        with_mask: also pack the motion masks.
        meta_keys: results keys copied into the data sample's metainfo.
    """

    def __init__(self, with_mask: bool = False,
                 meta_keys: Sequence[str] = ('filename', 'frame_inds',
                                             'motion_inds', 'keyframe_ind',
                                             'img_shape', 'original_shape')
                 ) -> None:
        self.with_mask = with_mask
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Build ``dict(inputs=..., data_samples=...)``."""
        inputs = {}
        if 'imgs' in results:  # (T, H, W, 3) -> (3, T, H, W)
            clip = np.asarray(results['imgs'])
            inputs['imgs'] = torch.from_numpy(
                np.ascontiguousarray(clip.transpose(3, 0, 1, 2)))
        if 'keyframe' in results:  # (H, W, 3) -> (3, H, W)
            inputs['keyframe'] = torch.from_numpy(
                np.ascontiguousarray(results['keyframe'].transpose(2, 0, 1)))
        if 'motion' in results:  # (T, 2, H, W) -> (2, T, H, W)
            inputs['motion'] = torch.from_numpy(np.ascontiguousarray(
                results['motion'].transpose(1, 0, 2, 3), np.float32))
        if 'negative_motion' in results:  # (N, T, 2, H, W) -> (N, 2, T, H, W)
            inputs['negative_motion'] = torch.from_numpy(np.ascontiguousarray(
                results['negative_motion'].transpose(0, 2, 1, 3, 4),
                np.float32))
        if self.with_mask:
            for key in ('motion_mask', 'negative_motion_mask'):
                if key in results:
                    inputs[key] = torch.from_numpy(
                        np.ascontiguousarray(results[key]))
        sample = ActionDataSample()
        if 'label' in results:
            sample.set_gt_label(results['label'])
        sample.set_metainfo({k: results[k] for k in self.meta_keys
                             if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_mask={self.with_mask}, '
                f'meta_keys={self.meta_keys})')
