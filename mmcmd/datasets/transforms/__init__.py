"""Registered CMD transforms: compressed-domain loading, geometry, packing."""
from .array_video import ArrayVideoInit
from .color import CMDColorAugment
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
from .multi_view import MultiView
from .resize import PILResize
from .sampling import SegmentCenterSampleFrames

__all__ = [
    'CompressedVideoInit', 'CMDSampleFrames', 'CMDDecode',
    'CompressedVideoClose', 'CMDRandomResizedCrop', 'CMDCenterCrop',
    'CMDResize', 'CMDFlip', 'KeyframeAugment', 'CMDColorAugment',
    'MotionNormalize', 'PackCMDInputs', 'MultiView', 'ArrayVideoInit',
    'PILResize', 'SegmentCenterSampleFrames'
]
