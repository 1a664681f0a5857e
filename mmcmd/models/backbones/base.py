"""Shared initialisation of mmcmd backbones: Kaiming default, Pretrained."""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

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


def read_checkpoint_state(checkpoint: str) -> Dict[str, torch.Tensor]:
    """Every tensor of a checkpoint file (its ``state_dict`` if it has one)."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'Pretrained checkpoint {checkpoint!r} does not exist; fix '
            '--cfg-options pretrained=PATH (or init_cfg.checkpoint in the '
            'backbone config).')
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict):
        raise TypeError(f'{checkpoint!r} holds a {type(state).__name__}, '
                        'not a state dict.')
    return dict(state)


def select_prefix(state: Dict[str, torch.Tensor], prefix: str,
                  checkpoint: str = 'the checkpoint'
                  ) -> Dict[str, torch.Tensor]:
    """The tensors whose keys start with ``prefix``, prefix removed."""
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


def read_state_dict(checkpoint: str,
                    prefix: str = '') -> Dict[str, torch.Tensor]:
    """Tensors of a checkpoint whose keys start with ``prefix``, without it."""
    return select_prefix(read_checkpoint_state(checkpoint), prefix, checkpoint)


def group_keys(keys: Sequence[str], prefix: str = '') -> List[str]:
    """Keys shortened to groups: ``motion_backbone.*``, ``backbone.fc.*``.

    A key is grouped by its first component after ``prefix`` (when it
    starts with ``prefix``) or by its first component; a group of one key
    without further components shows the key itself. Sorted.
    """
    groups: Dict[str, List[str]] = {}
    for key in keys:
        head = prefix if prefix and key.startswith(prefix) else ''
        parts = key[len(head):].split('.', 1)
        name = head + parts[0]
        groups.setdefault(name, []).append(key)
    return sorted(name if members == [name] else f'{name}.*'
                  for name, members in groups.items())


def pretrained_load_summary(checkpoint_keys: Sequence[str], prefix: str,
                            loaded_keys: Sequence[str]) -> dict:
    """What loading ``prefix``-keys of a checkpoint into a module did.

    Args:
        checkpoint_keys: every key of the checkpoint's state dict.
        prefix: the prefix selected (e.g. ``'backbone.'``).
        loaded_keys: the keys (prefix removed) the module took.

    Returns:
        ``dict(loaded=N, total=M, ignored=K, ignored_groups=[...])``: N of
        the M tensors of the file went into the module, K = M - N did not;
        ``ignored_groups`` names them as :func:`group_keys` does.
    """
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    taken = {prefix + key for key in loaded_keys}
    ignored = [key for key in checkpoint_keys if key not in taken]
    return dict(loaded=len(checkpoint_keys) - len(ignored),
                total=len(checkpoint_keys), ignored=len(ignored),
                ignored_groups=group_keys(ignored, prefix))


def format_load_summary(summary: dict, checkpoint: str,
                        target: str = 'backbone', max_groups: int = 6) -> str:
    """``loaded N of M tensors of FILE into backbone (K ignored: ...)``."""
    line = (f'loaded {summary["loaded"]} of {summary["total"]} tensors of '
            f'{checkpoint} into {target}')
    if summary['ignored']:
        groups = summary['ignored_groups']
        shown = ', '.join(groups[:max_groups] +
                          (['...'] if len(groups) > max_groups else []))
        line += f' ({summary["ignored"]} ignored: {shown})'
    return line


class CMDBackbone(BaseModule):
    """Base of mmcmd backbones: Kaiming fan_out init, then Pretrained if given.

    Unlike mmaction2's ResNet3d, a ``dict(type='Pretrained', checkpoint=...,
    prefix=...)`` init_cfg really loads the tensors (strictly: every
    parameter of the backbone must be in the checkpoint).
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
        :func:`pretrained_load_summary`).
        """
        self.reset_parameters_default()
        for cfg in _pretrained_cfgs(self.init_cfg):
            checkpoint, prefix = cfg['checkpoint'], cfg.get('prefix', '')
            full = read_checkpoint_state(checkpoint)
            state = select_prefix(full, prefix, checkpoint)
            result = self.load_state_dict(state, strict=False)
            missing = [k for k in result.missing_keys
                       if not k.endswith('num_batches_tracked')]
            if missing:
                raise KeyError(
                    f'{checkpoint!r} lacks {len(missing)} tensors of '
                    f'{type(self).__name__}, e.g. {missing[:3]}; check prefix '
                    f'{prefix!r} and the backbone arguments.')
            unexpected = set(result.unexpected_keys)
            self.pretrained_summary = pretrained_load_summary(
                list(full), prefix, [k for k in state if k not in unexpected])
            target = prefix.rstrip('.') or type(self).__name__
            MMLogger.get_current_instance().info(format_load_summary(
                self.pretrained_summary, checkpoint, target))
        self._is_init = True


def pack_outputs(outs: List[torch.Tensor], global_pool: bool):
    """One tensor for one output, else a tuple; pooled to (N, C) if asked."""
    if global_pool:
        outs = [o.flatten(2).mean(-1) for o in outs]
    return outs[0] if len(outs) == 1 else tuple(outs)
