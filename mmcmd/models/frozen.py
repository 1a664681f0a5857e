"""Freeze any registered module for linear probing."""
from __future__ import annotations

import copy
from typing import Optional

from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from torch import nn


@MODELS.register_module()
def FrozenBackbone(backbone: dict,  # noqa: N802 (a builder)
                   init_cfg: Optional[dict] = None) -> nn.Module:
    """Build ``backbone`` with every parameter frozen and BatchNorm in eval.

    Returns the backbone itself (not a wrapper), so its state-dict keys and
    ``init_cfg`` loading are unchanged: a linear-probe config only swaps
    ``backbone=dict(type='X', ...)`` for
    ``backbone=dict(type='FrozenBackbone', backbone=dict(type='X', ...))``.
    An ``init_cfg`` given here replaces the inner one, so pretrained weights
    load with the same ``model.backbone.init_cfg.checkpoint=...`` option as
    in finetuning. ``train()`` keeps the module in eval mode, so running
    statistics never move; no gradient is computed for it.

    Args:
        backbone: cfg of the module to freeze (any registered backbone).
        init_cfg: replaces ``backbone``'s own ``init_cfg`` when given.
    """
    backbone = copy.deepcopy(backbone)
    if init_cfg is not None:
        backbone['init_cfg'] = init_cfg
    with DefaultScope.overwrite_default_scope('mmaction'):
        module = MODELS.build(backbone)
    module.requires_grad_(False)
    eval_train = module.train

    def train(mode: bool = True) -> nn.Module:
        return eval_train(False)

    module.train = train  # the instance attribute shadows nn.Module.train
    return module
