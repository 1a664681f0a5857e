"""Heads; each builds its loss from ``loss=dict(type=...)`` and owns it."""
from .context_matching_head import ContextMatchingHead
from .contrastive_heads import DSMHead, DSMTripletHead, ViewContrastHead
from .mlfo_heads import (
    MLFOGraphHead,
    MLFOInstanceHead,
    MLFOLevel,
    MLFOMotionHead,
    MLFOSwAVHead,
    MLFOTimestampHead,
)
from .motion_prediction_head import MotionPredictionHead
from .transformer import PredictionTransformer

__all__ = ['ContextMatchingHead', 'DSMHead', 'DSMTripletHead',
           'MLFOGraphHead', 'MLFOInstanceHead', 'MLFOLevel', 'MLFOMotionHead',
           'MLFOSwAVHead', 'MLFOTimestampHead', 'MotionPredictionHead',
           'PredictionTransformer', 'ViewContrastHead']
