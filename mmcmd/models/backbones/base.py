"""Shared initialisation of mmcmd backbones: Kaiming default, Pretrained."""
from __future__ import annotations

from typing import List, Optional, Union

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn

from mmcmd.utils.checkpoint import format_load_summary, load_checkpoint_into

InitCfg = Optional[Union[dict, List[dict]]]

#: what to fix when a Pretrained checkpoint does not exist.
PRETRAINED_HINT = ('fix --cfg-options pretrained=PATH (or '
                   'init_cfg.checkpoint in the backbone config)')


def _pretrained_cfgs(init_cfg: InitCfg) -> List[dict]:
    """The ``type='Pretrained'`` entries of an init_cfg."""
    if init_cfg is None:
        return []
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    # checkpoint=None: the config leaves room for --cfg-options to fill in.
    return [c for c in cfgs if c.get('type') == 'Pretrained'
            and c.get('checkpoint') is not None]


class CMDBackbone(BaseModule):
    """Base of mmcmd backbones: Kaiming fan_out init, then Pretrained if given.

    Unlike mmaction2's ResNet3d, a ``dict(type='Pretrained', checkpoint=...,
    prefix=...)`` init_cfg really loads the tensors, through
    :func:`mmcmd.utils.checkpoint.load_checkpoint_into` (weights only; every
    tensor of the backbone must be in the checkpoint with its shape; other
    tensors of the file are ignored and counted).
    """

    def reset_parameters_default(self) -> None:
        """Kaiming fan_out for convs, BN to identity, last BN of blocks 0."""
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.affine:
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
        if getattr(self, 'zero_init_residual', False):
            for m in self.modules():
                last_bn = getattr(m, 'last_bn', None)
                if callable(last_bn):
                    nn.init.zeros_(last_bn().weight)

    def init_weights(self) -> None:
        """Default init, then load the Pretrained checkpoint of init_cfg.

        Logs one line per checkpoint, ``loaded N of M tensors of FILE into
        backbone (K ignored: motion_backbone.*, ...)``, and keeps its
        numbers in ``self.pretrained_summary`` (see
        :func:`mmcmd.utils.checkpoint.load_summary`).
        """
        self.reset_parameters_default()
        for cfg in _pretrained_cfgs(self.init_cfg):
            checkpoint, prefix = cfg['checkpoint'], cfg.get('prefix', '')
            self.pretrained_summary = load_checkpoint_into(
                self, checkpoint, prefix, strict=False,
                what=f'{type(self).__name__} (keys under {prefix!r})',
                hint=PRETRAINED_HINT)
            target = prefix.rstrip('.') or type(self).__name__
            MMLogger.get_current_instance().info(format_load_summary(
                self.pretrained_summary, checkpoint, target))
        self._is_init = True


def pack_outputs(outs: List[torch.Tensor], global_pool: bool):
    """One tensor for one output, else a tuple; pooled to (N, C) if asked."""
    if global_pool:
        outs = [o.flatten(2).mean(-1) for o in outs]
    return outs[0] if len(outs) == 1 else tuple(outs)
