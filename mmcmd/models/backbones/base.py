"""Shared initialisation for mmcmd backbones: Kaiming default, real Pretrained."""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Optional, Union

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn

from mmcmd.utils.checkpoint import load_checkpoint_file

InitCfg = Optional[Union[dict, List[dict]]]


def _pretrained_cfgs(init_cfg: InitCfg) -> List[dict]:
    """The ``type='Pretrained'`` entries of an init_cfg."""
    if init_cfg is None:
        return []
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    # checkpoint=None: the config leaves room for --cfg-options to fill in.
    return [c for c in cfgs if c.get('type') == 'Pretrained'
            and c.get('checkpoint') is not None]


def read_state_dict(checkpoint: str, prefix: str = '') -> Dict[str, torch.Tensor]:
    """Tensors of a checkpoint file whose keys start with ``prefix``, prefix removed."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'Pretrained checkpoint {checkpoint!r} does not exist; fix '
            f'init_cfg.checkpoint in the backbone config.')
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict):
        raise TypeError(f'{checkpoint!r} holds a {type(state).__name__}, '
                        'not a state dict.')
    if not prefix:
        return dict(state)
    if not prefix.endswith('.'):
        prefix += '.'
    selected = {k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix)}
    if not selected:
        raise KeyError(f'No key of {checkpoint!r} starts with {prefix!r}; '
                       'fix init_cfg.prefix (e.g. "backbone.").')
    return selected


class CMDBackbone(BaseModule):
    """Base of mmcmd backbones: Kaiming fan_out init, then Pretrained if given.

    Unlike mmaction2's ResNet3d, a ``dict(type='Pretrained', checkpoint=...,
    prefix=...)`` init_cfg really loads the tensors (strictly: every
    parameter of the backbone must be in the checkpoint).
    """

    def reset_parameters_default(self) -> None:
        """Kaiming fan_out for convs, BN to identity, last BN of blocks to 0."""
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
        """Default init, then load the Pretrained checkpoint of init_cfg."""
        self.reset_parameters_default()
        for cfg in _pretrained_cfgs(self.init_cfg):
            state = read_state_dict(cfg['checkpoint'], cfg.get('prefix', ''))
            result = self.load_state_dict(state, strict=False)
            missing = [k for k in result.missing_keys
                       if not k.endswith('num_batches_tracked')]
            if missing:
                raise KeyError(
                    f'{cfg["checkpoint"]!r} lacks {len(missing)} tensors of '
                    f'{type(self).__name__}, e.g. {missing[:3]}; check prefix '
                    f'{cfg.get("prefix", "")!r} and the backbone arguments.')
            if result.unexpected_keys:
                MMLogger.get_current_instance().warning(
                    f'{type(self).__name__}: ignored '
                    f'{len(result.unexpected_keys)} checkpoint keys, e.g. '
                    f'{result.unexpected_keys[:3]}')
        self._is_init = True


def pack_outputs(outs: List[torch.Tensor], global_pool: bool):
    """One tensor for one output, else a tuple; pooled to (N, C) if asked."""
    if global_pool:
        outs = [o.flatten(2).mean(-1) for o in outs]
    return outs[0] if len(outs) == 1 else tuple(outs)
