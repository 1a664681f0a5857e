"""Helpers shared by every mmcmd model: building modules from the registry,
probing output shapes on the meta device, pooling backbone outputs."""
from __future__ import annotations

import copy
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope

Features = Union[torch.Tensor, Tuple[torch.Tensor, ...]]
Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]


def build_module(cfg: dict) -> torch.nn.Module:
    """Build a model cfg from mmaction's registry, in the mmaction scope (so
    mmcv bricks such as ``conv_cfg=dict(type='Conv2plus1d')`` resolve without
    a runner)."""
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(copy.deepcopy(cfg))


def fill_cfg(cfg: dict, **values) -> dict:
    """Copy of ``cfg`` with the given keys set where missing or None."""
    cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        if cfg.get(key) is None:
            cfg[key] = value
    return cfg


def probe_output_shapes(cfg: dict, input_shape: Sequence[int]
                        ) -> List[Tuple[int, ...]]:
    """Output shapes of the module ``cfg`` builds, for one input of
    ``input_shape`` (without batch), computed on the meta device (no memory,
    no FLOPs)."""
    with torch.device('meta'):
        module = build_module(cfg)
        module.eval()  # some mmaction backbones' train() returns None
        out = module(torch.empty(1, *input_shape, device='meta'))
    outs = out if isinstance(out, (tuple, list)) else (out, )
    return [tuple(o.shape[1:]) for o in outs]


def final_map(features: Features) -> torch.Tensor:
    """The last (deepest) output of a backbone."""
    return features[-1] if isinstance(features, (tuple, list)) else features


def global_pool(x: torch.Tensor) -> torch.Tensor:
    """(N, C, ...) -> (N, C) mean over every axis after the channels."""
    return x.flatten(2).mean(-1) if x.dim() > 2 else x


def pooled_vector(features: Features) -> torch.Tensor:
    """(N, C): the global average pool of the final map of ``features`` (a
    map, a tuple of maps, or already (N, C) vectors)."""
    return global_pool(final_map(features))


def pooled_embedding(backbone: Callable[[torch.Tensor], Features],
                     clips: torch.Tensor) -> torch.Tensor:
    """(B, [num_clips,] 3, T, H, W) clips -> (B, C): the global average pool
    of the backbone's final map, averaged over the clips of each video."""
    if clips.dim() == 6:
        b, n = clips.shape[:2]
        emb = pooled_vector(backbone(clips.flatten(0, 1)))
        return emb.view(b, n, -1).mean(dim=1)
    return pooled_vector(backbone(clips))


def build_data_preprocessor(
        cfg: Optional[Union[dict, torch.nn.Module]]) -> torch.nn.Module:
    """The data preprocessor of a model: built from ``cfg`` in mmaction's
    registry (no default scope needed), ``CMDDataPreprocessor`` when None,
    a module as it is."""
    if cfg is None:
        cfg = dict(type='CMDDataPreprocessor')
    return build_module(cfg) if isinstance(cfg, dict) else cfg


__all__ = ['Features', 'Inputs', 'build_data_preprocessor', 'build_module',
           'fill_cfg', 'final_map', 'global_pool', 'pooled_embedding',
           'pooled_vector', 'probe_output_shapes']
