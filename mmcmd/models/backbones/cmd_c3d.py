"""The C3D variant used by CMD: eight 3x3x3 convs with bias and BN, no fc."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch
from mmaction.registry import MODELS
from torch import nn

from .base import CMDBackbone, InitCfg, pack_outputs

# (stage, conv names, width multiplier of base_channels)
STAGES = (
    ('1', ('1', ), 1),
    ('2', ('2', ), 2),
    ('3', ('3a', '3b'), 4),
    ('4', ('4a', '4b'), 8),
    ('5', ('5a', '5b'), 8),
)


@MODELS.register_module()
class CMDC3D(CMDBackbone):
    """C3D with BN: conv1 | pool1 (1,2,2) | conv2 | pool2 | conv3a,b | pool3 |
    conv4a,b | pool4 | conv5a,b; pools 2-4 are (2,2,2), no pool5, no fc.

    For 16x112x112 the final map is 512 x 2 x 7 x 7.

    Args:
        in_channels: input channels (3 for RGB).
        base_channels: width of conv1; later stages use 2, 4, 8, 8 times it.
        out_indices: stages returned, 0..4 (conv1 .. conv5b outputs, before
            their pools); one index gives a tensor, several a tuple.
        global_pool: average each returned map over T, H and W to (N, C).
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 out_indices: Sequence[int] = (4, ),
                 global_pool: bool = False,
                 init_cfg: InitCfg = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not all(0 <= i <= 4 for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)} must lie in '
                             '0..4 (conv1 .. conv5).')
        self.in_channels = in_channels
        self.out_indices = tuple(out_indices)
        self.global_pool = global_pool
        self.relu = nn.ReLU(inplace=True)
        channels = in_channels
        self.stage_channels = []
        for stage, names, mult in STAGES:
            width = base_channels * mult
            for name in names:
                self.add_module(f'conv{name}', nn.Conv3d(
                    channels, width, 3, padding=1, bias=True))
                self.add_module(f'bn{name}', nn.BatchNorm3d(width))
                channels = width
            self.stage_channels.append(width)
        self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.pool2 = nn.MaxPool3d(2, 2)
        self.pool3 = nn.MaxPool3d(2, 2)
        self.pool4 = nn.MaxPool3d(2, 2)
        self.out_channels = self.stage_channels[max(self.out_indices)]

    def forward(self, x: torch.Tensor
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Maps (N, C_i, T_i, H_i, W_i) of the stages in ``out_indices``."""
        if x.dim() != 5:
            raise ValueError('CMDC3D expects (N, C, T, H, W), got shape '
                             f'{tuple(x.shape)}.')
        outs = []
        for i, (stage, names, _) in enumerate(STAGES):
            if i > 0:
                x = getattr(self, f'pool{i}')(x)
            for name in names:
                conv, bn = getattr(self, f'conv{name}'), getattr(self, f'bn{name}')
                x = self.relu(bn(conv(x)))
            if i in self.out_indices:
                outs.append(x)
            if i == max(self.out_indices):
                break
        return pack_outputs(outs, self.global_pool)
