"""MLFO's temporal branch: time reversal, motion excitation, temporal pooling.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
from mmaction.registry import MODELS
from torch import nn
from torch.nn import functional as F


class MotionExcitation(nn.Module):
    """TEA-style motion excitation of a (N, C, T, H, W) map::

        r = BN(conv1x1(x))                       C -> C / reduction
        d_t = dwconv3x3(r_{t+1}) - r_t           d_{T-1} = 0
        gate = sigmoid(BN(conv1x1(mean_HW(d)))) - 0.5     C / reduction -> C
        out = x * (1 + gate)

    No biases (2,392 parameters for C=128, 8,880 for C=256).

    Args:
        channels: C.
        reduction: channel reduction of the difference branch.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        mid = max(channels // reduction, 1)
        self.reduce = nn.Conv3d(channels, mid, 1, bias=False)
        self.reduce_bn = nn.BatchNorm3d(mid)
        self.shift = nn.Conv3d(mid, mid, (1, 3, 3), padding=(0, 1, 1),
                               groups=mid, bias=False)
        self.expand = nn.Conv3d(mid, channels, 1, bias=False)
        self.expand_bn = nn.BatchNorm3d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, H, W) -> the excited map of the same shape."""
        r = self.reduce_bn(self.reduce(x))
        diff = self.shift(r[:, :, 1:]) - r[:, :, :-1]
        diff = F.pad(diff, (0, 0, 0, 0, 0, 1))  # zero for the last step
        gate = self.expand_bn(self.expand(diff.mean(dim=(3, 4),
                                                    keepdim=True)))
        return x * (1 + torch.sigmoid(gate) - 0.5)


@MODELS.register_module()
class MLFOTemporalNeck(nn.Module):
    """Multi-level temporal features of MLFO, (N, C, T, H, W) maps in.

    For every level in ``excite_levels`` (low and mid)::

        x (N, C, T, H, W) --cat with x.flip(T) on the batch axis--> (2N, ...)
          -> MotionExcitation -> adaptive avg pool (time_steps, 1, 1)
          -> (2N, C, time_steps): rows :N normal order, N: reversed

    Other levels (high) are only pooled: (N, C, time_steps). Per-level
    projection heads read these sequences.

    Args:
        in_channels: channels of each level, in the backbone's order.
        time_steps: time steps each level is pooled to.
        excite_levels: indices of the levels with reversal and motion
            excitation.
        reduction: channel reduction inside :class:`MotionExcitation`.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512),
                 time_steps: Sequence[int] = (8, 4, 2),
                 excite_levels: Sequence[int] = (0, 1),
                 reduction: int = 16) -> None:
        super().__init__()
        if len(in_channels) != len(time_steps):
            raise ValueError('MLFOTemporalNeck: one time_steps value per '
                             f'level, got {tuple(in_channels)} and '
                             f'{tuple(time_steps)}.')
        self.in_channels = tuple(in_channels)
        self.time_steps = tuple(time_steps)
        self.excite_levels = tuple(excite_levels)
        self.excite = nn.ModuleDict({
            str(level): MotionExcitation(in_channels[level], reduction)
            for level in self.excite_levels})

    def forward(self, features: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, ...]:
        """Per level: (2N, C, t) for excited levels, (N, C, t) otherwise."""
        if len(features) != len(self.in_channels):
            raise ValueError(f'MLFOTemporalNeck: expects {len(self.in_channels)}'
                             f' maps (backbone out_indices), got '
                             f'{len(features)}.')
        outs = []
        for level, x in enumerate(features):
            if str(level) in self.excite:
                x = torch.cat([x, x.flip(2)])
                x = self.excite[str(level)](x)
            pooled = F.adaptive_avg_pool3d(x, (self.time_steps[level], 1, 1))
            outs.append(pooled.flatten(2))
        return tuple(outs)
