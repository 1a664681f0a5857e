"""Registered CMD transforms: compressed-domain loading, geometry, packing."""
from .color import CMDColorAugment
from .formatting import MotionNormalize, PackCMDInputs
from .geometry import (CMDCenterCrop, CMDFlip, CMDRandomResizedCrop,
                       CMDResize, KeyframeAugment)
from .loading import (CMDDecode, CMDSampleFrames, CompressedVideoClose,
                      CompressedVideoInit)
from .multi_view import MultiView

__all__ = [
    'CompressedVideoInit', 'CMDSampleFrames', 'CMDDecode',
    'CompressedVideoClose', 'CMDRandomResizedCrop', 'CMDCenterCrop',
    'CMDResize', 'CMDFlip', 'KeyframeAugment', 'CMDColorAugment',
    'MotionNormalize', 'PackCMDInputs', 'MultiView'
]
