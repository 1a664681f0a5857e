"""Decoded frames in memory behind the reader interface of CMDDecode.

``ArrayVideoInit`` takes the place of :class:`CompressedVideoInit` when the
video is already a uint8 (T, H, W, 3) RGB array, so the rest of a pipeline
(sampling, :class:`CMDDecode`, geometry, packing) runs unchanged.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from mmcmd.codec import DecodedSpans, FrameIndexError, NoMotionVectorsError
from mmcmd.codec.motion import cell_grid_shape

ARRAY_NAME = '<array>'


class ArrayVideo:
    """RGB frames uint8 (T, H, W, 3) answering ``decode(rgb=...)``.

    Frames only: there are no motion vectors and no GOPs, so asking for
    motion or keyframes raises :class:`mmcmd.codec.NoMotionVectorsError`.

    Args:
        frames: uint8 (T, H, W, 3) RGB frames in display order.
        path: name used in error messages.
    """

    def __init__(self, frames: np.ndarray, path: str = ARRAY_NAME) -> None:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or \
                frames.dtype != np.uint8 or not len(frames):
            raise ValueError(f'{path}: a video array must be uint8 '
                             f'(T, H, W, 3) RGB with T >= 1, got '
                             f'{frames.dtype} {frames.shape}')
        self.frames = frames
        self.path = path
        self.num_frames, self.height, self.width = frames.shape[:3]

    def decode(self, rgb: Sequence[int] = (), motion: Sequence[int] = (),
               keyframes: Sequence[int] = (), raw_motion: bool = False,
               motion_precision: str = 'exact') -> DecodedSpans:
        """The frames at display indices ``rgb`` (asked order, repeats);
        ``motion_precision`` is accepted as by ``CompressedVideo.decode``
        (an array has no motion to round)."""
        if len(motion) or len(keyframes):
            raise NoMotionVectorsError(
                self.path, 'an RGB array has no motion vectors or keyframes; '
                'give the video file instead')
        indices = np.asarray(rgb, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or
                             indices.max() >= self.num_frames):
            raise FrameIndexError(self.path, f'frame indices must lie in '
                                  f'[0, {self.num_frames})')
        rows, cols = cell_grid_shape(self.height, self.width)
        return DecodedSpans(
            rgb=self.frames[indices],
            motion=np.zeros((0, 2, rows, cols), np.float32),
            mask=np.zeros((0, rows, cols), bool),
            keyframes=np.zeros((0, self.height, self.width, 3), np.uint8),
            motion_pict_types=np.zeros(0, '<U1'),
            keyframe_indices=np.zeros(0, np.int64))

    def keyframe_for(self, index: int) -> int:
        """No GOPs in an array: every frame is its own keyframe."""
        return int(index)

    def close(self) -> None:
        """Nothing to release."""


@TRANSFORMS.register_module()
class ArrayVideoInit(BaseTransform):
    """Wrap ``results['array']`` (uint8 (T, H, W, 3) RGB) as a video reader.

    The in-memory counterpart of :class:`CompressedVideoInit`: put it first
    instead of that step to run a file pipeline on decoded frames.

    Required Keys:

        - array

    Added Keys:

        - video_reader (:class:`ArrayVideo`)
        - total_frames

    Modified Keys:

        - none
    """

    def transform(self, results: dict) -> dict:
        """Wrap the frames and count them."""
        video = ArrayVideo(results['array'],
                           str(results.get('filename', ARRAY_NAME)))
        results['video_reader'] = video
        results['total_frames'] = video.num_frames
        return results
