"""Inception-v1 I3D (Carreira and Zisserman) with TF-style "SAME" padding.

The clip encoder of DSM's recognition results, up to Mixed_5c (no logits)::

    x (N, 3, T, H, W)
      -> Conv3d_1a 7x7x7 /2 -> MaxPool3d_2a (1,3,3)/(1,2,2)
      -> Conv3d_2b 1x1x1 -> Conv3d_2c 3x3x3 -> MaxPool3d_3a (1,3,3)/(1,2,2)
      -> Mixed_3b -> Mixed_3c                     (stage 0, 480 channels)
      -> MaxPool3d_4a 3x3x3 /2 -> Mixed_4b .. 4f  (stage 1, 832 channels)
      -> MaxPool3d_5a 2x2x2 /2 -> Mixed_5b -> 5c  (stage 2, 1024 channels)

Every conv is bias-free and followed by BN and ReLU. An Inception block
concatenates four branches: 1x1x1 | 1x1x1 -> 3x3x3 | 1x1x1 -> 3x3x3 |
max-pool 3x3x3 /1 -> 1x1x1. Padding is computed from the input size at
run time, as TensorFlow's "SAME" (the extra pixel goes at the end), so any
clip size works. 12,287,264 parameters; the last map is 1024 x 2 x 7 x 7
for 16x224x224 and 1024 x 2 x 4 x 4 for 16x112x112.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch import nn

from .base import CMDBackbone, InitCfg, pack_outputs

Triple = Tuple[int, int, int]

#: Inception blocks: name -> widths (1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | pool 1x1).
MIXED = {
    'Mixed_3b': (64, 96, 128, 16, 32, 32),
    'Mixed_3c': (128, 128, 192, 32, 96, 64),
    'Mixed_4b': (192, 96, 208, 16, 48, 64),
    'Mixed_4c': (160, 112, 224, 24, 64, 64),
    'Mixed_4d': (128, 128, 256, 24, 64, 64),
    'Mixed_4e': (112, 144, 288, 32, 64, 64),
    'Mixed_4f': (256, 160, 320, 32, 128, 128),
    'Mixed_5b': (256, 160, 320, 32, 128, 128),
    'Mixed_5c': (384, 192, 384, 48, 128, 128),
}

#: stages (out_indices 0..2): (pool before the stage, its Inception blocks).
STAGES = (
    ('MaxPool3d_3a_3x3', ('Mixed_3b', 'Mixed_3c')),
    ('MaxPool3d_4a_3x3', ('Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
                      'Mixed_4f')),
    ('MaxPool3d_5a_2x2', ('Mixed_5b', 'Mixed_5c')),
)


def same_padding(size: Sequence[int], kernel: Triple,
                 stride: Triple) -> List[int]:
    """F.pad amounts (W, H, T order) giving TF "SAME" output ceil(n / s)."""
    pads = []
    for n, k, s in zip(size, kernel, stride):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    (t0, t1), (h0, h1), (w0, w1) = pads
    return [w0, w1, h0, h1, t0, t1]


def _triple(v: Union[int, Sequence[int]]) -> Triple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


class SamePadMaxPool3d(nn.Module):
    """MaxPool3d whose padding (with -inf) is TF "SAME" for each input."""

    def __init__(self, kernel: Union[int, Triple],
                 stride: Union[int, Triple]) -> None:
        super().__init__()
        self.kernel, self.stride = _triple(kernel), _triple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, H, W) -> (N, C, ceil(T/s), ceil(H/s), ceil(W/s))."""
        pad = same_padding(x.shape[2:], self.kernel, self.stride)
        x = F.pad(x, pad, value=float('-inf'))
        return F.max_pool3d(x, self.kernel, self.stride)


class Unit3D(nn.Module):
    """Bias-free Conv3d with "SAME" padding -> BN -> ReLU (``conv``, ``bn``).

    BN uses TensorFlow's eps 1e-3 and momentum 0.01 (decay 0.99).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel: Union[int, Triple] = 1,
                 stride: Union[int, Triple] = 1) -> None:
        super().__init__()
        self.kernel, self.stride = _triple(kernel), _triple(stride)
        self.conv = nn.Conv3d(in_channels, out_channels, self.kernel,
                              self.stride, bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, T, H, W) -> (N, C_out, ceil(T/s), ceil(H/s), ceil(W/s))."""
        if self.kernel != (1, 1, 1) or self.stride != (1, 1, 1):
            x = F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride))
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionBlock3d(nn.Module):
    """Four parallel branches concatenated along the channels."""

    def __init__(self, in_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        w0, w1a, w1b, w2a, w2b, w3 = widths
        self.branch0 = Unit3D(in_channels, w0)
        self.branch1 = nn.Sequential(Unit3D(in_channels, w1a),
                                     Unit3D(w1a, w1b, 3))
        self.branch2 = nn.Sequential(Unit3D(in_channels, w2a),
                                     Unit3D(w2a, w2b, 3))
        self.branch3 = nn.Sequential(SamePadMaxPool3d(3, 1),
                                     Unit3D(in_channels, w3))
        self.out_channels = w0 + w1b + w2b + w3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, T, H, W) -> (N, out_channels, T, H, W)."""
        return torch.cat([self.branch0(x), self.branch1(x),
                          self.branch2(x), self.branch3(x)], dim=1)


@MODELS.register_module()
class InceptionI3D(CMDBackbone):
    """Inception-v1 I3D up to Mixed_5c (DSM's I3D), TF "SAME" padding.

    Module names follow the I3D end points (``Conv3d_1a_7x7``,
    ``Mixed_4f``, ...). Init: convs Kaiming normal (fan_out, ReLU gain), BN
    weight 1 and bias 0.

    Args:
        in_channels: input channels (3 for RGB).
        base_channels: width of the first conv; every width of the net is
            scaled by ``base_channels / 64`` (64 is the published I3D; a
            multiple of 8 keeps all widths whole).
        out_indices: stages returned, 0..2 (Mixed_3c, Mixed_4f, Mixed_5c
            outputs); one index gives a tensor, several a tuple.
        global_pool: average each returned map over T, H and W to (N, C).
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 out_indices: Sequence[int] = (2, ),
                 global_pool: bool = False,
                 init_cfg: InitCfg = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not all(0 <= i <= 2 for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)} must lie in '
                             '0..2 (Mixed_3c, Mixed_4f, Mixed_5c).')
        if base_channels % 8 or base_channels <= 0:
            raise ValueError(f'base_channels {base_channels} must be a '
                             'positive multiple of 8.')
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.out_indices = tuple(out_indices)
        self.global_pool = global_pool

        def width(w: int) -> int:
            return w * base_channels // 64

        self.Conv3d_1a_7x7 = Unit3D(in_channels, width(64), 7, 2)
        self.MaxPool3d_2a_3x3 = SamePadMaxPool3d((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(width(64), width(64))
        self.Conv3d_2c_3x3 = Unit3D(width(64), width(192), 3)
        self.MaxPool3d_3a_3x3 = SamePadMaxPool3d((1, 3, 3), (1, 2, 2))
        self.MaxPool3d_4a_3x3 = SamePadMaxPool3d(3, 2)
        self.MaxPool3d_5a_2x2 = SamePadMaxPool3d(2, 2)
        channels = width(192)
        self.stage_channels = []
        for _, names in STAGES:
            for name in names:
                block = InceptionBlock3d(channels,
                                         [width(w) for w in MIXED[name]])
                self.add_module(name, block)
                channels = block.out_channels
            self.stage_channels.append(channels)
        self.out_channels = self.stage_channels[max(self.out_indices)]

    def forward(self, x: torch.Tensor
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Maps (N, C_i, T_i, H_i, W_i) of the stages in ``out_indices``."""
        if x.dim() != 5:
            raise ValueError('InceptionI3D expects (N, C, T, H, W), got '
                             f'shape {tuple(x.shape)}.')
        x = self.MaxPool3d_2a_3x3(self.Conv3d_1a_7x7(x))
        x = self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(x))
        outs = []
        for i, (pool, names) in enumerate(STAGES):
            x = getattr(self, pool)(x)
            for name in names:
                x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
            if i == max(self.out_indices):
                break
        return pack_outputs(outs, self.global_pool)
