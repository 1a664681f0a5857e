"""Registered CMD transforms: compressed-domain loading, geometry, packing."""
from .array_video import ArrayVideoInit
from .color import CMDColorAugment
from .dsm import (
                   DSMSampleFrames,
                   DSMViews,
                   SpatialLocalDisturbance,
                   TemporalLocalDisturbance,
)
from .formatting import MotionNormalize, PackCMDInputs
from .geometry import (
                       CMDCenterCrop,
                       CMDFlip,
                       CMDRandomResizedCrop,
                       CMDResize,
                       KeyframeAugment,
)
from .loading import (
                       CMDDecode,
                       CMDSampleFrames,
                       CompressedVideoClose,
                       CompressedVideoInit,
)
from .mlfo import MLFOViews
from .multi_view import MultiView
from .resize import PILResize
from .rotation import RandomRotation
from .sampling import SegmentCenterSampleFrames

__all__ = [
    'CompressedVideoInit', 'CMDSampleFrames', 'CMDDecode',
    'CompressedVideoClose', 'CMDRandomResizedCrop', 'CMDCenterCrop',
    'CMDResize', 'CMDFlip', 'KeyframeAugment', 'CMDColorAugment',
    'MotionNormalize', 'PackCMDInputs', 'MultiView', 'ArrayVideoInit',
    'PILResize', 'MLFOViews', 'SegmentCenterSampleFrames', 'RandomRotation',
    'DSMSampleFrames', 'DSMViews', 'SpatialLocalDisturbance',
    'TemporalLocalDisturbance'
]
