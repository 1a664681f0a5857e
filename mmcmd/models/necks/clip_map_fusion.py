"""CMD's clip-map fusion: stage 3 folded in time plus stage 4 upsampled."""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseModule

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class ClipMapFusion(BaseModule):
    """Fuse the clip backbone's stage-3 and stage-4 maps into the one clip
    map the CMD heads read (no parameters)::

        stage 3 (B, C3, T3, H3, W3) --fold time by f = T3 // T4--+
            (steps t, t + f, ... concatenated on channels)       +--> add
        stage 4 (B, C4, T4, H4, W4) --nearest upsample-----------+
            to (T3 / f, H3, W3)

    e.g. 1024x4x7x7 + 2048x2x4x4 -> 2048x2x7x7 for R(2+1)D-26 at 16x112x112.
    One map (a tensor or a 1-tuple, as C3D or X3D give) passes unchanged.

    Args:
        init_cfg: mmengine init config (unused: the neck has no weights).
    """

    def forward(self, features: Features) -> torch.Tensor:
        """(stage 3, stage 4) maps, or one map -> (B, C4, T, H, W)."""
        if isinstance(features, torch.Tensor):
            return features
        if len(features) == 1:
            return features[0]
        if len(features) != 2:
            raise ValueError(
                f'{type(self).__name__}: the clip backbone returned '
                f'{len(features)} maps; set its out_indices to one or two '
                'stages.')
        x3, x4 = features
        fold = max(1, x3.shape[2] // x4.shape[2])
        folded = torch.cat([x3[:, :, i::fold] for i in range(fold)], dim=1)
        if folded.shape[1] != x4.shape[1]:
            raise ValueError(
                f'{type(self).__name__}: cannot add stage maps with '
                f'{x3.shape[1]} x {fold} and {x4.shape[1]} channels; use a '
                'single clip output instead (out_indices=(3, )) and no neck.')
        return folded + F.interpolate(x4, size=folded.shape[2:],
                                      mode='nearest')
