"""Span decoding: what one decode() call returns, how it plans its passes."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .errors import DecodeBudgetError

#: a gap of at most this many frames to the next span's keyframe is decoded
#: through instead of seeking.
DECODE_THROUGH_FRAMES = 4


@dataclass
class DecodedSpans:
    """What one :meth:`CompressedVideo.decode` call returns, in asked order."""

    #: RGB frames uint8 (N, H, W, 3).
    rgb: np.ndarray
    #: motion fields float32 (M, 2, ceil(H/4), ceil(W/4)), px per frame.
    motion: np.ndarray
    #: True where a motion vector exists, bool (M, ceil(H/4), ceil(W/4)).
    mask: np.ndarray
    #: RGB keyframes uint8 (K, H, W, 3) of the GOPs of the asked frames.
    keyframes: np.ndarray
    #: decoder picture type ('I', 'P', 'B') of each motion frame, '<U1' (M,).
    motion_pict_types: np.ndarray
    #: display indices of the keyframes returned, int64 (K,).
    keyframe_indices: np.ndarray
    #: number of seek-and-decode passes the call made.
    passes: int = 0


def plan_passes(frames: List[int], gop_start: np.ndarray,
                decode_through: int = DECODE_THROUGH_FRAMES
                ) -> List[Tuple[int, List[int]]]:
    """Group sorted display indices into (keyframe to seek to, frames) passes.

    A pass continues while the next frame's keyframe lies at most
    ``decode_through`` frames after the pass's last frame (decoding through
    is cheaper than seeking); otherwise a new pass seeks to that keyframe.
    """
    passes: List[Tuple[int, List[int]]] = []
    for frame in frames:
        key = int(gop_start[frame])
        if passes and key - passes[-1][1][-1] <= decode_through:
            passes[-1][1].append(frame)
        else:
            passes.append((key, [frame]))
    return passes


class Deadline:
    """Raises DecodeBudgetError once ``budget_s`` seconds have passed."""

    def __init__(self, path: str, budget_s: Optional[float], what: str
                 ) -> None:
        self.path, self.what = path, what
        self.budget_s = budget_s
        self.end = None if budget_s is None else time.perf_counter() + budget_s

    def check(self) -> None:
        """Raise when the budget is spent."""
        if self.end is not None and time.perf_counter() > self.end:
            raise DecodeBudgetError(
                self.path, f'{self.what} took longer than the decode budget '
                f'of {self.budget_s:g} s; the file may be damaged or far '
                'longer than expected (raise decode_budget_s to allow it)')
