"""Necks between the clip backbone and the heads."""
from .clip_map_fusion import ClipMapFusion

__all__ = ['ClipMapFusion']
