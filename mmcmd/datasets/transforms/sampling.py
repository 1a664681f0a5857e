"""Where clips start: the one module of clip spans and start draws.

The CMD (:class:`CMDSampleFrames`), DSM (:class:`DSMSampleFrames`) and MLFO
(:class:`MLFOViews`) training samplers and the multi-clip test sampler
below compute their spans and draw their starts here: :func:`clip_span`,
:func:`clip_offsets`, :func:`sample_start` (uniform where the span fits,
centred in test mode), :func:`mlfo_window`.

Multi-clip test sampling (:class:`SegmentCenterSampleFrames`): the protocol
of CMD's test and embedding pipelines (and of the ModelScope model):
``num_clips`` clips of ``clip_len`` frames every ``frame_interval`` frames,
so one clip spans ``(clip_len - 1) * frame_interval + 1`` frames. Clip
starts are the integer midpoints (truncated) of ``num_clips`` equal segments
of ``[0, num_frames - span]``::

    num_frames = 161, span = 61 -> segments of [0, 100]: starts 5, 15, ..., 95

A video of at most ``span`` frames gets every clip at frame 0.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

OUT_OF_BOUND_OPTS = ('first_frame', 'loop')


def clip_span(clip_len: int, frame_interval: int) -> int:
    """Number of frames one clip covers, first to last sampled frame."""
    return (clip_len - 1) * frame_interval + 1


def clip_offsets(clip_len: int, frame_interval: int) -> np.ndarray:
    """Frame offsets int64 (clip_len,) of a clip's frames from its start."""
    return np.arange(clip_len, dtype=np.int64) * frame_interval


def start_candidates(num_frames: int, span: int) -> np.ndarray:
    """Every start at which ``span`` frames fit in the video (only 0 when
    none does: the sampler then loops)."""
    return np.arange(max(num_frames - span, 0) + 1)


def sample_start(num_frames: int, span: int, test_mode: bool = False) -> int:
    """First frame of ``span`` frames: uniform among
    :func:`start_candidates` (numpy's global generator, one ``randint``
    draw, seeded per worker by mmengine), or the centre in test mode.

    Args:
        num_frames: frames of the video.
        span: frames the sample covers from its first frame.
        test_mode: deterministic, centred start.
    """
    room = num_frames - span
    if room <= 0:
        return 0
    if test_mode:
        return room // 2
    return int(np.random.randint(room + 1))


def mlfo_window(num_frames: int, clip_len: int = 16, max_rate: float = 3.0,
                rate: Optional[float] = None,
                start: Optional[float] = None
                ) -> Tuple[np.ndarray, float]:
    """Frame indices (2 * clip_len,) of an MLFO window and its rate.

    rate r ~ U[1, min(max_rate, N / (2 * clip_len))] (1 when the video is
    shorter than the window), start s ~ U[0, N - 2 * clip_len * r] (0 when
    negative); index i is round(s + r * i), clipped to N - 1. ``rate`` and
    ``start`` fix the draws.

    Args:
        num_frames: frames of the video (N).
        clip_len: frames per clip; the window has twice as many.
        max_rate: upper bound of the rate r.
        rate: the rate to use instead of a draw.
        start: the start to use instead of a draw.
    """
    window = 2 * clip_len
    if rate is None:
        high = max(min(max_rate, num_frames / window), 1.0)
        rate = float(np.random.uniform(1.0, high))
    if start is None:
        start = float(np.random.uniform(0, max(num_frames - window * rate,
                                               0)))
    inds = np.round(start + rate * np.arange(window)).astype(np.int64)
    return np.clip(inds, 0, num_frames - 1), rate


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
        offsets = clip_offsets(self.clip_len, self.frame_interval)
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
