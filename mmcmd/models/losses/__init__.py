"""Losses. ``info_nce.py`` imports only torch (a spawned test worker loads
it alone); the registration into mmaction's ``MODELS`` happens here."""
import copy

from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from torch import nn

from .dsm_losses import DSMQueueInfoNCE, DSMTripletLoss, dsm_logits
from .info_nce import (
    GatheredInfoNCE,
    gather_plain,
    gather_with_grad,
    group_exclusion,
    info_nce,
)
from .mlfo_losses import (
    MLFOGraphLoss,
    MLFOInstanceLoss,
    MLFOMotionContrastLoss,
    MLFOSwAVLoss,
    MLFOTimestampLoss,
)

for _loss in (GatheredInfoNCE, DSMQueueInfoNCE, DSMTripletLoss,
              MLFOGraphLoss, MLFOInstanceLoss, MLFOMotionContrastLoss,
              MLFOSwAVLoss, MLFOTimestampLoss):
    MODELS.register_module(module=_loss)


def build_loss(cfg: dict) -> nn.Module:
    """Build a loss cfg such as ``dict(type='GatheredInfoNCE', ...)`` from
    mmaction's ``MODELS`` (in the mmaction scope, whatever scope is set)."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'a loss must be a dict with a `type`, e.g. '
                        f"dict(type='GatheredInfoNCE'), got {cfg!r}.")
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(copy.deepcopy(cfg))


__all__ = ['DSMQueueInfoNCE', 'DSMTripletLoss', 'GatheredInfoNCE',
           'build_loss', 'dsm_logits', 'gather_plain', 'gather_with_grad',
           'group_exclusion', 'info_nce',
           'MLFOGraphLoss', 'MLFOInstanceLoss', 'MLFOMotionContrastLoss',
           'MLFOSwAVLoss', 'MLFOTimestampLoss']
