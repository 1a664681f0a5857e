"""Freeze any registered module for linear probing."""
from __future__ import annotations

import copy

from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from torch import nn


@MODELS.register_module()
def FrozenBackbone(backbone: dict) -> nn.Module:  # noqa: N802 (a builder)
    """Build ``backbone`` with every parameter frozen and BatchNorm in eval.

    Returns the backbone itself (not a wrapper), so its state-dict keys and
    ``init_cfg`` loading are unchanged: a linear-probe config only swaps
    ``backbone=dict(type='X', ...)`` for
    ``backbone=dict(type='FrozenBackbone', backbone=dict(type='X', ...))``.
    ``train()`` keeps the module in eval mode, so running statistics never
    move; no gradient is computed for it.
    """
    with DefaultScope.overwrite_default_scope('mmaction'):
        module = MODELS.build(copy.deepcopy(backbone))
    module.requires_grad_(False)
    eval_train = module.train

    def train(mode: bool = True) -> nn.Module:
        return eval_train(False)

    module.train = train  # the instance attribute shadows nn.Module.train
    return module
