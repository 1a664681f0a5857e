"""Compressed-domain video reading: frame index, RGB, keyframes, motion.

Pure PyAV + numpy; nothing here imports torch, mmengine or mmaction.
See docs/codec.md for the motion contract and the exceptions.
"""
from .errors import (
                     CodecError,
                     DecodeBudgetError,
                     FrameIndexError,
                     NoMotionVectorsError,
                     NoVideoStreamError,
                     VideoDecodeError,
                     VideoOpenError,
                     VideoTooShortError,
)
from .index import VideoIndex
from .motion import cell_grid_shape, motion_field, motion_fields
from .reader import MOTION_VECTOR_CODECS, CompressedVideo
from .spans import DecodedSpans
from .stream_info import (
                     InexactMotionWarning,
                     MotionVerdict,
                     motion_verdict,
                     probe_motion,
)

__all__ = [
    'CompressedVideo', 'VideoIndex', 'DecodedSpans', 'CodecError',
    'VideoOpenError', 'NoVideoStreamError', 'NoMotionVectorsError',
    'VideoTooShortError', 'DecodeBudgetError', 'VideoDecodeError',
    'FrameIndexError', 'motion_field', 'motion_fields', 'cell_grid_shape',
    'MOTION_VECTOR_CODECS', 'MotionVerdict', 'motion_verdict', 'probe_motion',
    'InexactMotionWarning'
]
