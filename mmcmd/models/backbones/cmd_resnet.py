"""CMD ResNet backbones: (2+1)D, 3D and 2D (as 1xkxk 3D convs) families.

Depth 26 = bottleneck blocks [2, 2, 2, 2] (the published R(2+1)D-26 / R3D-26),
depth 10 / 18 = basic blocks [1, 1, 1, 1] / [2, 2, 2, 2] (motion and keyframe
encoders). Stages 2-4 stride 2 in T, H and W (H and W only for the 2D net)::

    x (N, C, T, H, W) -> stem (stride (1, s, s)) -> maxpool (1,3,3)/(1,2,2)
      -> layer1 -> layer2 -> layer3 -> layer4 -> outputs at ``out_indices``

Module names equal the ModelScope / official CMD checkpoints, so their state
dicts load unchanged.
"""
from __future__ import annotations

from typing import Sequence, Tuple, Type, Union

import torch
from mmaction.registry import MODELS
from torch import nn

from .base import CMDBackbone, InitCfg, pack_outputs
from .resnet_blocks import (
    BasicBlock2Plus1d,
    BasicBlock3d,
    Bottleneck2Plus1d,
    Bottleneck3d,
    conv3d,
    factorised_width,
)

# depth -> (uses bottleneck blocks, blocks per stage)
DEPTHS = {
    10: (False, (1, 1, 1, 1)),
    18: (False, (2, 2, 2, 2)),
    26: (True, (2, 2, 2, 2)),
    34: (False, (3, 4, 6, 3)),
    50: (True, (3, 4, 6, 3)),
}

Output = Union[torch.Tensor, Tuple[torch.Tensor, ...]]


class _CMDResNet(CMDBackbone):
    """Shared ResNet body; subclasses set the stem and the block types.

    Args:
        depth: 10, 18, 34 (basic blocks) or 26, 50 (bottleneck blocks).
        in_channels: input channels (3 for RGB, 2 for motion).
        base_channels: width of the stem and stage 1; stages 2-4 double it.
        stem_stride: spatial stride of the stem conv (1 keeps the size).
        stem_temporal_kernel: temporal kernel of the stem (1 for the 2D net).
        max_pool: the (1, 3, 3) / (1, 2, 2) max-pool after the stem.
        out_indices: stages returned, 0..3 (stage 1..4); one index gives a
            tensor, several a tuple (e.g. (2, 3) for :class:`ClipMapFusion`).
        global_pool: average each returned map over T, H and W to (N, C).
        zero_init_residual: zero the last BN of every residual branch.
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.
    """

    basic: Type[nn.Module] = BasicBlock3d
    bottleneck: Type[nn.Module] = Bottleneck3d
    temporal: bool = True

    def __init__(self,
                 depth: int = 26,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 stem_stride: int = 2,
                 stem_temporal_kernel: int = 3,
                 max_pool: bool = True,
                 out_indices: Sequence[int] = (3, ),
                 global_pool: bool = False,
                 zero_init_residual: bool = True,
                 init_cfg: InitCfg = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in DEPTHS:
            raise KeyError(f'{type(self).__name__}: depth {depth} is not one '
                           f'of {sorted(DEPTHS)}.')
        if not all(0 <= i <= 3 for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)} must lie in '
                             '0..3 (stage 1..4).')
        use_bottleneck, stage_blocks = DEPTHS[depth]
        self.depth = depth
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.out_indices = tuple(out_indices)
        self.global_pool = global_pool
        self.zero_init_residual = zero_init_residual
        block = self.bottleneck if use_bottleneck else self.basic
        self._make_stem(in_channels, base_channels, stem_stride,
                        stem_temporal_kernel)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = (nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
                        if max_pool else nn.Identity())
        channels = base_channels
        self.stage_channels = []
        for i, num_blocks in enumerate(stage_blocks):
            planes = base_channels * 2**i
            layer, channels = self._make_layer(block, channels, planes,
                                               num_blocks, 1 if i == 0 else 2)
            self.add_module(f'layer{i + 1}', layer)
            self.stage_channels.append(channels)
        self.out_channels = self.stage_channels[max(self.out_indices)]

    def _make_stem(self, in_channels: int, out_channels: int, stride: int,
                   kt: int) -> None:
        kt = kt if self.temporal else 1
        self.conv1 = conv3d(in_channels, out_channels, (kt, 7, 7),
                            (1, stride, stride))
        self.bn1 = nn.BatchNorm3d(out_channels)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn1(self.conv1(x)))

    def _make_layer(self, block: Type[nn.Module], in_channels: int,
                    planes: int, num_blocks: int,
                    stride: int) -> Tuple[nn.Sequential, int]:
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or in_channels != out_channels:
            st = stride if self.temporal else 1
            downsample = nn.Sequential(
                conv3d(in_channels, out_channels, (1, 1, 1),
                       (st, stride, stride)), nn.BatchNorm3d(out_channels))
        blocks = [block(in_channels, planes, stride, downsample,
                        temporal=self.temporal)]
        blocks += [block(out_channels, planes, 1, None, temporal=self.temporal)
                   for _ in range(num_blocks - 1)]
        return nn.Sequential(*blocks), out_channels

    def forward(self, x: torch.Tensor) -> Output:
        """Maps (N, C_i, T_i, H_i, W_i) of the stages in ``out_indices``."""
        squeeze_time = x.dim() == 4
        if squeeze_time:
            x = x.unsqueeze(2)
        if x.dim() != 5:
            raise ValueError(f'{type(self).__name__} expects (N, C, T, H, W), '
                             f'got shape {tuple(x.shape)}.')
        x = self.maxpool(self._stem(x))
        outs = []
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x.squeeze(2) if squeeze_time else x)
            if i == max(self.out_indices):
                break
        return pack_outputs(outs, self.global_pool)


@MODELS.register_module()
class CMDResNet3d(_CMDResNet):
    """3D ResNet (R3D): stem (kt)x7x7, 3x3x3 convs in the blocks.

    ``depth=26`` is the published R3D-26; ``depth=10, in_channels=2,
    stem_stride=1`` is the CMD motion encoder (512 x 1 x 7 x 7 for 8x112x112).

    Args:
        depth, in_channels, base_channels, stem_stride,
        stem_temporal_kernel, max_pool, out_indices, global_pool,
        zero_init_residual, init_cfg: as in the shared ResNet body
            (``_CMDResNet``): depth 10/18/34 basic, 26/50 bottleneck blocks;
            ``out_indices`` 0..3 picks stages 1..4.
    """


@MODELS.register_module()
class CMDResNet2Plus1d(_CMDResNet):
    """R(2+1)D ResNet: every kxkxk conv factorised into 1xkxk then kx1x1.

    Stem: conv1_s 1x7x7 (stride (1, s, s)) -> conv1_t 3x1x1, mid width chosen
    so the factorised pair has the parameter count of the 3x7x7 conv.

    Args:
        depth, in_channels, base_channels, stem_stride,
        stem_temporal_kernel, max_pool, out_indices, global_pool,
        zero_init_residual, init_cfg: as in the shared ResNet body
            (``_CMDResNet``); ``depth=26, out_indices=(2, 3)`` is the
            published clip encoder.
    """

    basic = BasicBlock2Plus1d
    bottleneck = Bottleneck2Plus1d

    def _make_stem(self, in_channels: int, out_channels: int, stride: int,
                   kt: int) -> None:
        mid = factorised_width(in_channels, out_channels, kt=kt, ks=7)
        self.conv1_s = conv3d(in_channels, mid, (1, 7, 7), (1, stride, stride))
        self.bn1_s = nn.BatchNorm3d(mid)
        self.conv1_t = conv3d(mid, out_channels, (kt, 1, 1))
        self.bn1_t = nn.BatchNorm3d(out_channels)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1_s(self.conv1_s(x)))
        return self.relu(self.bn1_t(self.conv1_t(x)))


@MODELS.register_module()
class CMDResNet2d(_CMDResNet):
    """2D ResNet stored as 1xkxk Conv3d (keys match the official keyframe net).

    Accepts (N, C, H, W) images (outputs without a time axis) or
    (N, C, 1, H, W). ``depth=10, global_pool=True`` is the CMD keyframe encoder.

    Args:
        depth, in_channels, base_channels, stem_stride, max_pool,
        out_indices, global_pool, zero_init_residual, init_cfg: as in the
            shared ResNet body (``_CMDResNet``);
            ``stem_temporal_kernel`` is ignored (always 1).
    """

    temporal = False
