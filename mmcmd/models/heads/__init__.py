"""CMD heads; each owns its loss."""
from .context_matching_head import ContextMatchingHead
from .mlfo_heads import MLFOGlobalHead, MLFOLevelHead, PrototypeHead
from .motion_prediction_head import MotionPredictionHead
from .projection import ProjectionMLP
from .transformer import PredictionTransformer

__all__ = ['MLFOGlobalHead', 'MLFOLevelHead', 'PrototypeHead',
           'ContextMatchingHead', 'MotionPredictionHead', 'ProjectionMLP',
           'PredictionTransformer']
