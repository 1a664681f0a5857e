"""Multi-clip test sampling: clips at the centres of equal segments.

The protocol of CMD's test and embedding pipelines (and of the ModelScope
model): ``num_clips`` clips of ``clip_len`` frames every ``frame_interval``
frames, so one clip spans ``(clip_len - 1) * frame_interval + 1`` frames.
Clip starts are the integer midpoints (truncated) of ``num_clips`` equal
segments of ``[0, num_frames - span]``::

    num_frames = 161, span = 61 -> segments of [0, 100]: starts 5, 15, ..., 95

A video of at most ``span`` frames gets every clip at frame 0.
"""
from __future__ import annotations

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

OUT_OF_BOUND_OPTS = ('first_frame', 'loop')


def clip_span(clip_len: int, frame_interval: int) -> int:
    """Number of frames one clip covers, first to last sampled frame."""
    return (clip_len - 1) * frame_interval + 1


def segment_center_starts(num_frames: int, clip_len: int,
                          frame_interval: int, num_clips: int) -> np.ndarray:
    """First frame (int64, display order) of each of ``num_clips`` clips."""
    if num_frames < 1:
        raise ValueError(f'a video needs at least one frame, got {num_frames}')
    span = clip_span(clip_len, frame_interval)
    if num_frames <= span:
        return np.zeros(num_clips, dtype=np.int64)
    bounds = np.linspace(0, num_frames - span, num_clips + 1)
    # Truncation toward zero, as the reference pipeline's astype(int).
    return ((bounds[1:] + bounds[:-1]) / 2.0).astype(np.int64)


@TRANSFORMS.register_module()
class SegmentCenterSampleFrames(BaseTransform):
    """Sample ``num_clips`` clips starting at the centres of equal segments.

    Deterministic (a test and embedding sampler). Frames past the end of a
    video shorter than one clip span are replaced according to
    ``out_of_bound_opt``: ``'first_frame'`` (default) takes frame 0 for
    each of them, as the ModelScope embedding pipeline does, so its vectors
    are reproduced exactly; ``'loop'`` takes the index modulo the frame
    count, as mmaction2's ``SampleFrames``.

    Required Keys:

        - total_frames

    Added Keys:

        - frame_inds: int64 (num_clips * clip_len,), clip after clip, 0-based
          display-order indices (what :class:`CMDDecode` decodes)
        - clip_len
        - frame_interval
        - num_clips

    Modified Keys:

        - none

    Args:
        clip_len: frames per clip.
        frame_interval: distance between sampled frames of a clip (frames).
        num_clips: number of clips per video.
        out_of_bound_opt: ``'first_frame'`` or ``'loop'`` (see above).
    """

    def __init__(self, clip_len: int = 16, frame_interval: int = 4,
                 num_clips: int = 10,
                 out_of_bound_opt: str = 'first_frame') -> None:
        if clip_len < 1 or frame_interval < 1 or num_clips < 1:
            raise ValueError('SegmentCenterSampleFrames: clip_len, '
                             'frame_interval and num_clips must be >= 1, got '
                             f'{clip_len}, {frame_interval}, {num_clips}')
        if out_of_bound_opt not in OUT_OF_BOUND_OPTS:
            raise ValueError('SegmentCenterSampleFrames: out_of_bound_opt '
                             f'must be one of {OUT_OF_BOUND_OPTS}, got '
                             f'{out_of_bound_opt!r}')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.num_clips = num_clips
        self.out_of_bound_opt = out_of_bound_opt

    def frame_indices(self, num_frames: int) -> np.ndarray:
        """Frame indices int64 (num_clips, clip_len) of a video."""
        starts = segment_center_starts(num_frames, self.clip_len,
                                       self.frame_interval, self.num_clips)
        offsets = np.arange(self.clip_len, dtype=np.int64) * \
            self.frame_interval
        indices = starts[:, None] + offsets[None, :]
        if self.out_of_bound_opt == 'loop':
            return indices % num_frames
        indices[indices >= num_frames] = 0
        return indices

    def transform(self, results: dict) -> dict:
        """Write ``frame_inds`` and the clip layout into ``results``."""
        indices = self.frame_indices(int(results['total_frames']))
        results['frame_inds'] = indices.reshape(-1)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, num_clips='
                f'{self.num_clips}, out_of_bound_opt='
                f'{self.out_of_bound_opt!r})')
