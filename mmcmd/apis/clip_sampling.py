"""Frame indices of the multi-clip embedding protocol (ModelScope-compatible).

A clip is ``clip_len`` frames taken every ``frame_interval`` frames, so it
spans ``(clip_len - 1) * frame_interval + 1`` frames. ``num_clips`` clips
start at the integer midpoints of ``num_clips`` equal segments of
``[0, num_frames - span]``; a video of at most ``span`` frames gets every
clip at frame 0, and indices past the last frame wrap to frame 0::

    num_frames = 161, span = 61 -> segments of [0, 100]: starts 5, 15, ..., 95
"""
from __future__ import annotations

import numpy as np


def clip_span(clip_len: int, frame_interval: int) -> int:
    """Number of frames one clip covers, first to last sampled frame."""
    return (clip_len - 1) * frame_interval + 1


def clip_start_indices(num_frames: int, clip_len: int = 16,
                       frame_interval: int = 4,
                       num_clips: int = 10) -> np.ndarray:
    """First frame (int64, display order) of each of ``num_clips`` clips."""
    if num_frames < 1:
        raise ValueError(f'a video needs at least one frame, got {num_frames}')
    if clip_len < 1 or frame_interval < 1 or num_clips < 1:
        raise ValueError('clip_len, frame_interval and num_clips must be '
                         f'>= 1, got {clip_len}, {frame_interval}, '
                         f'{num_clips}')
    span = clip_span(clip_len, frame_interval)
    if num_frames <= span:
        return np.zeros(num_clips, dtype=np.int64)
    bounds = np.linspace(0, num_frames - span, num_clips + 1)
    # Truncation toward zero, as the reference pipeline's astype(int).
    return ((bounds[1:] + bounds[:-1]) / 2.0).astype(np.int64)


def clip_frame_indices(num_frames: int, clip_len: int = 16,
                       frame_interval: int = 4,
                       num_clips: int = 10) -> np.ndarray:
    """Frame indices (num_clips, clip_len) int64; indices past the end -> 0."""
    starts = clip_start_indices(num_frames, clip_len, frame_interval,
                                num_clips)
    offsets = np.arange(clip_len, dtype=np.int64) * frame_interval
    indices = starts[:, None] + offsets[None, :]
    indices[indices >= num_frames] = 0
    return indices
