"""Frame index of a video stream: display order, GOPs, picture types.

Built from packets alone (no decoding): packet timestamps give the display
order, packet key flags give the GOPs, and the decode order tells reference
anchors from B-frames: an anchor (I or P) is shown after every frame decoded
before it, a B-frame is shown before a frame already decoded. A B-frame
decoded ahead of a frame shown before it is a reference B-frame (H.264
B-pyramid): the B-frames around it are predicted from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class VideoIndex:
    """Per-frame facts of one video stream, all arrays in display order."""

    #: presentation timestamps in stream time-base units, int64 (N,).
    pts: np.ndarray
    #: presentation times in seconds from the stream start, float64 (N,).
    timestamps: np.ndarray
    #: 'I', 'P' or 'B' per frame, dtype '<U1' (N,).
    pict_types: np.ndarray
    #: display indices of keyframes (GOP starts), int64 (K,).
    keyframes: np.ndarray
    #: display index of the keyframe of each frame's GOP, int64 (N,).
    gop_start: np.ndarray
    #: frames to the previous anchor (I/P) in display order, float64 (N,).
    past_distance: np.ndarray
    #: frames to the next anchor (I/P) in display order, float64 (N,).
    future_distance: np.ndarray
    #: timestamp to seek to for each keyframe (decode timestamp), int64 (K,).
    seek_ts: np.ndarray

    @property
    def num_frames(self) -> int:
        """Number of frames in the stream."""
        return int(self.pts.shape[0])

    @property
    def all_intra(self) -> bool:
        """True when every frame is an I-frame (no motion vectors anywhere)."""
        return bool((self.pict_types == 'I').all())

    def keyframe_for(self, frame_index: int) -> int:
        """Display index of the keyframe of the GOP holding ``frame_index``."""
        return int(self.gop_start[frame_index])


def _distances(anchors: np.ndarray, num_frames: int):
    """Display-order distances (frames) to the previous and next anchor."""
    frames = np.arange(num_frames)
    positions = np.flatnonzero(anchors)
    before = np.searchsorted(positions, frames, side='left') - 1
    after = np.searchsorted(positions, frames, side='right')
    past = np.ones(num_frames)
    future = np.ones(num_frames)
    has_before = before >= 0
    has_after = after < positions.shape[0]
    past[has_before] = frames[has_before] - positions[before[has_before]]
    future[has_after] = positions[after[has_after]] - frames[has_after]
    return past, future


def build_index(pts: Sequence[int], dts: Sequence[int],
                is_key: Sequence[bool], time_base: float,
                start_pts: int = 0) -> VideoIndex:
    """Index from per-packet pts, dts and key flags given in decode order."""
    pts_decode = np.asarray(pts, np.int64)
    dts_decode = np.asarray(dts, np.int64)
    key_decode = np.asarray(is_key, bool)
    count = pts_decode.shape[0]
    if count and not key_decode.any():
        key_decode[0] = True  # a stream without key flags starts at packet 0
    earlier_max = np.maximum.accumulate(pts_decode)
    anchor_decode = np.ones(count, bool)
    anchor_decode[1:] = pts_decode[1:] > earlier_max[:-1]
    decoded_ahead = np.zeros(count, bool)
    decoded_ahead[:-1] = pts_decode[1:] < pts_decode[:-1]
    order = np.argsort(pts_decode, kind='stable')
    key = key_decode[order]
    anchors = anchor_decode[order] | key
    reference_b = decoded_ahead[order] & ~anchors
    pict_types = np.where(key, 'I', np.where(anchors, 'P', 'B'))
    keyframes = np.flatnonzero(key)
    starts = np.searchsorted(keyframes, np.arange(count), side='right') - 1
    gop_start = keyframes[np.maximum(starts, 0)] if count else keyframes
    # I/P-frames and reference B-frames predict from I/P anchors; other
    # B-frames from the nearest I/P or reference B-frame on each side.
    past, future = _distances(anchors, count)
    past_b, future_b = _distances(anchors | reference_b, count)
    plain_b = ~anchors & ~reference_b
    past[plain_b] = past_b[plain_b]
    future[plain_b] = future_b[plain_b]
    display_pts = pts_decode[order]
    return VideoIndex(
        pts=display_pts,
        timestamps=(display_pts - start_pts) * float(time_base),
        pict_types=pict_types.astype('<U1'),
        keyframes=keyframes.astype(np.int64),
        gop_start=gop_start.astype(np.int64),
        past_distance=past,
        future_distance=future,
        seek_ts=dts_decode[order][keyframes])


def index_from_frames(pict_types: Sequence[str], is_key: Sequence[bool],
                      timestamps: Sequence[float]) -> VideoIndex:
    """Index from decoded frames (display order) when packets lack pts."""
    types = np.asarray(pict_types, '<U1')
    key = np.asarray(is_key, bool) | (types == 'I')
    count = types.shape[0]
    if count and not key.any():
        key[0] = True
    types = np.where(key, 'I', np.where(types == 'B', 'B', 'P'))
    keyframes = np.flatnonzero(key)
    starts = np.searchsorted(keyframes, np.arange(count), side='right') - 1
    gop_start = keyframes[np.maximum(starts, 0)] if count else keyframes
    past, future = _distances(types != 'B', count)
    frames = np.arange(count, dtype=np.int64)
    return VideoIndex(
        pts=frames, timestamps=np.asarray(timestamps, np.float64),
        pict_types=types.astype('<U1'), keyframes=keyframes.astype(np.int64),
        gop_start=gop_start.astype(np.int64), past_distance=past,
        future_distance=future, seek_ts=keyframes.astype(np.int64))
