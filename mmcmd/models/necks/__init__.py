"""Necks between the clip backbone and the heads."""
from .clip_map_fusion import ClipMapFusion
from .mlfo_temporal import MLFOTemporalNeck

__all__ = ['ClipMapFusion', 'MLFOTemporalNeck']
