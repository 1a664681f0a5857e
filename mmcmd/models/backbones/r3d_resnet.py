"""Hara-style 3D ResNet (R3D-18 / R3D-34) of DSM and MLFO.

The body is the CMD ResNet's (same blocks, same module names, which are also
the names of Hara et al.'s checkpoints); what differs is the stem::

    x (N, C, T, H, W) -> conv1 7x7x7 stride (1, 2, 2) -> bn1 -> relu
      -> maxpool 3x3x3 stride 2 (DSM) | (1,3,3) stride (1,2,2) (MLFO)
      -> layer1 -> layer2 -> layer3 -> layer4 -> outputs at ``out_indices``

Stages 2-4 stride 2 in T, H and W; the shortcut of a block that changes the
shape is a 1x1x1 conv + BN (Hara's shortcut type 'B'), which gives the
published counts: 33,203,904 parameters for depth 18 and 63,513,536 for
depth 34 (no fc). For 16x112x112 the last map is 512 x 1 x 4 x 4 with the
temporal pool and 512 x 2 x 4 x 4 without it.
"""
from __future__ import annotations

from typing import Sequence

from mmaction.registry import MODELS
from torch import nn

from .base import InitCfg
from .cmd_resnet import _CMDResNet


@MODELS.register_module()
class R3DResNet(_CMDResNet):
    """3D ResNet of Hara et al. with a 7x7x7 stem (DSM's and MLFO's R3D).

    Init: convs Kaiming normal (fan_out, ReLU gain), BN weight 1 and bias 0;
    no zero-initialised residual BN unless asked.

    Args:
        depth: 18 or 34 (basic blocks, the published nets); 10 (basic) and
            26, 50 (bottleneck) are also accepted.
        in_channels: input channels (3 for RGB).
        base_channels: width of the stem and stage 1; stages 2-4 double it.
        temporal_pool: True: max-pool 3x3x3 stride 2 after the stem (DSM,
            Hara); False: (1,3,3) stride (1,2,2), no temporal pooling (MLFO).
        out_indices: stages returned, 0..3 (layer1..layer4); one index gives
            a tensor, several a tuple, e.g. (1, 2, 3) for MLFO's low, mid
            and high maps.
        global_pool: average each returned map over T, H and W to (N, C).
        zero_init_residual: zero the last BN of every residual branch.
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.
    """

    def __init__(self,
                 depth: int = 18,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 temporal_pool: bool = True,
                 out_indices: Sequence[int] = (3, ),
                 global_pool: bool = False,
                 zero_init_residual: bool = False,
                 init_cfg: InitCfg = None) -> None:
        super().__init__(depth=depth,
                         in_channels=in_channels,
                         base_channels=base_channels,
                         stem_stride=2,
                         stem_temporal_kernel=7,
                         max_pool=True,
                         out_indices=out_indices,
                         global_pool=global_pool,
                         zero_init_residual=zero_init_residual,
                         init_cfg=init_cfg)
        self.temporal_pool = temporal_pool
        if temporal_pool:
            self.maxpool = nn.MaxPool3d(3, 2, 1)
