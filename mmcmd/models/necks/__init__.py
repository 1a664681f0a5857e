"""Necks: the clip-map neck between backbone and heads, and the projection
necks that turn a clip map into the embeddings a head contrasts."""
from .clip_map_fusion import ClipMapFusion
from .mlfo_projections import MLFOGlobalProjection, MLFOLevelProjection
from .mlfo_temporal import MLFOTemporalNeck
from .projection import LinearProjection, ProjectionMLP

__all__ = ['ClipMapFusion', 'LinearProjection', 'MLFOGlobalProjection',
           'MLFOLevelProjection', 'MLFOTemporalNeck', 'ProjectionMLP']
