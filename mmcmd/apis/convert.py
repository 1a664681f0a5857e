"""Convert public CMD checkpoints to mmengine-style mmcmd checkpoints.

- ModelScope ``pytorch_model.pt`` (bare backbone state dict) ->
  ``{'meta': ..., 'state_dict': {'backbone.<key>': ...}}``.
- Official CMD pretraining checkpoint (``rgb_backbone.``, ``m_backbone.``,
  ... keys) -> the full ``CMD`` model state dict (key table in
  :mod:`mmcmd.models.selfsup.official_keys`).

Both are strict: every tensor name and shape must equal the mmcmd model
built from :mod:`mmcmd.models.presets` (on the meta device, no memory).
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Tuple

import torch

from ..utils.checkpoint import StateDict, check_state_dict, model_shapes
from ..version import __version__

#: accepted spellings of the published clip backbones -> presets name.
ARCH_ALIASES: Dict[str, str] = {
    'r2plus1d_26': 'r2plus1d-26', 'r2plus1d-26': 'r2plus1d-26',
    'r3d_26': 'r3d-26', 'r3d-26': 'r3d-26', 'c3d': 'c3d',
}


def canonical_arch(arch: str) -> str:
    """Presets name ('r2plus1d-26', 'r3d-26', 'c3d') of an arch spelling."""
    if arch not in ARCH_ALIASES:
        raise KeyError(f'unknown arch {arch!r}; choose one of '
                       f'{sorted(set(ARCH_ALIASES))}')
    return ARCH_ALIASES[arch]


def detect_arch(state: Mapping[str, torch.Tensor], path: str = '<state>'
                ) -> str:
    """Clip backbone of a bare backbone state dict, from its key names."""
    keys = set(state)
    if 'conv1_s.weight' in keys and 'layer4.1.conv2_t.weight' in keys:
        return 'r2plus1d-26'
    if 'conv5b.weight' in keys and 'conv3a.weight' in keys:
        return 'c3d'
    if 'conv1.weight' in keys and 'layer4.1.conv3.weight' in keys:
        return 'r3d-26'
    raise KeyError(f'{path!r}: cannot tell the architecture from its keys '
                   f'(e.g. {sorted(keys)[:3]}); pass --arch.')


BUFFER_SUFFIXES = ('running_mean', 'running_var', 'num_batches_tracked')


def count_parameters(state: Mapping[str, torch.Tensor]) -> int:
    """Number of learnable values of a state dict (BN statistics excluded)."""
    return sum(v.numel() for k, v in state.items()
               if not k.endswith(BUFFER_SUFFIXES))


def _meta_shapes(model_cfg: dict) -> Dict[str, Tuple[int, ...]]:
    """State-dict shapes of the model ``model_cfg`` builds (meta device)."""
    from mmcmd import models  # noqa: F401  (registers the models)
    from mmcmd.models.utils import build_module
    with torch.device('meta'):
        return model_shapes(build_module(model_cfg))


def _meta(source: str, arch: str, path: str, **extra) -> dict:
    """Small, weights-only-safe metadata of a converted checkpoint."""
    return dict(source=source, arch=arch,
                converted_from=os.path.basename(path),
                mmcmd_version=__version__, **extra)


def convert_modelscope(state: StateDict, arch: Optional[str] = None,
                       path: str = '<state>') -> dict:
    """mmengine checkpoint with ``backbone.*`` keys from a ModelScope
    backbone state dict (strict names and shapes)."""
    from mmcmd.models.presets import CLIP_BACKBONES
    arch = canonical_arch(arch) if arch else detect_arch(state, path)
    backbone_cfg = dict(CLIP_BACKBONES[arch])
    check_state_dict(state, _meta_shapes(backbone_cfg), path,
                     f'the mmcmd {arch} backbone ({backbone_cfg["type"]})')
    return dict(meta=_meta('modelscope', arch, path),
                state_dict={f'backbone.{k}': v for k, v in state.items()})


def convert_official_cmd(state: StateDict, arch: Optional[str] = None,
                         path: str = '<state>') -> dict:
    """mmengine checkpoint of the full ``CMD`` model from an official
    pretraining state dict (``module.`` already removed or not)."""
    from mmcmd.models.presets import cmd_model_cfg
    from mmcmd.models.selfsup.official_keys import official_to_mmcmd_key
    try:
        renamed = {official_to_mmcmd_key(k): v for k, v in state.items()}
    except KeyError as error:
        raise KeyError(f'{path!r}: {error.args[0]}') from None
    if arch is None:
        clip = {k[len('backbone.'):]: v for k, v in renamed.items()
                if k.startswith('backbone.')}
        arch = detect_arch(clip, path)
    arch = canonical_arch(arch)
    check_state_dict(renamed, _meta_shapes(cmd_model_cfg(arch)), path,
                     f'the mmcmd CMD model with a {arch} clip backbone')
    return dict(meta=_meta('cmd_official', arch, path,
                           model_cfg=f"cmd_model_cfg('{arch}')"),
                state_dict=renamed)
