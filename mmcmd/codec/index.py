"""Frame index of a video stream: display order, GOPs, picture types.

Built from packets alone (no decoding): packet timestamps give the display
order, packet key flags give the GOPs, and the decode order tells reference
anchors from B-frames: an anchor (I or P) is shown after every frame decoded
before it, a B-frame is shown before a frame already decoded. A B-frame
decoded ahead of a frame shown before it is a reference B-frame (H.264
B-pyramid): the B-frames around it are predicted from it.

Packets a container hides (an edit list that starts inside a GOP, as
``ffmpeg -ss T -c copy`` writes) are indexed too, because the shown frames
need them decoded; :func:`shown_view` then keeps the shown frames only.
Frames before the first keyframe (a damaged or flag-less head) form a GOP
of their own that starts at frame 0 without an I-frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

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
    #: display indices of GOP starts (keyframes, see keyframe_shown), (K,).
    keyframes: np.ndarray
    #: display index of the keyframe of each frame's GOP, int64 (N,).
    gop_start: np.ndarray
    #: frames to the previous anchor (I/P) in display order, float64 (N,).
    past_distance: np.ndarray
    #: frames to the next anchor (I/P) in display order, float64 (N,).
    future_distance: np.ndarray
    #: timestamp to seek to for each keyframe (decode timestamp), int64 (K,).
    seek_ts: np.ndarray
    #: per GOP: True when its first frame is its I-frame, bool (K,); False
    #: when an edit list hides the I-frame or the head has none (damaged).
    keyframe_shown: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.keyframe_shown is None:
            object.__setattr__(self, 'keyframe_shown',
                               self.pict_types[self.keyframes] == 'I')

    @property
    def num_frames(self) -> int:
        """Number of frames in the stream."""
        return int(self.pts.shape[0])

    @property
    def all_intra(self) -> bool:
        """True when every frame is an I-frame (no motion vectors anywhere)."""
        return bool((self.pict_types == 'I').all())

    def keyframe_for(self, frame_index: int) -> int:
        """First frame of the GOP holding ``frame_index`` (<= frame_index)."""
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
    key_decode = np.array(is_key, bool)
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
    gop_starts = key.copy()
    gop_starts[:1] = True  # frames before the first keyframe: their own GOP
    keyframes = np.flatnonzero(gop_starts)
    starts = np.searchsorted(keyframes, np.arange(count), side='right') - 1
    gop_start = keyframes[starts] if count else keyframes
    seek_ts = dts_decode[order][keyframes]
    if count and not key[0]:
        seek_ts[0] = dts_decode.min()  # a head without keyframe: stream start
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
        seek_ts=seek_ts)


def shown_view(full: VideoIndex, shown: np.ndarray
               ) -> Tuple[VideoIndex, np.ndarray]:
    """Index of the shown frames only, and their indices in ``full``.

    ``shown`` is a bool mask over ``full``'s frames. A GOP starts at its
    first shown frame; its ``seek_ts`` stays that of the GOP's keyframe, so
    seeking there decodes the hidden frames the shown ones depend on.
    """
    frames = np.flatnonzero(shown).astype(np.int64)
    gop_full = full.gop_start[frames]
    first = np.ones(frames.shape[0], bool)
    first[1:] = gop_full[1:] != gop_full[:-1]
    keyframes = np.flatnonzero(first).astype(np.int64)
    key_full = gop_full[keyframes]
    view = VideoIndex(
        pts=full.pts[frames], timestamps=full.timestamps[frames],
        pict_types=full.pict_types[frames], keyframes=keyframes,
        gop_start=keyframes[np.cumsum(first) - 1],
        past_distance=full.past_distance[frames],
        future_distance=full.future_distance[frames],
        seek_ts=full.seek_ts[np.searchsorted(full.keyframes, key_full)],
        keyframe_shown=((frames[keyframes] == key_full)
                        & (full.pict_types[key_full] == 'I')))
    return view, frames


def index_from_frames(pict_types: Sequence[str], is_key: Sequence[bool],
                      timestamps: Sequence[float]) -> VideoIndex:
    """Index from decoded frames (display order) when packets lack pts."""
    types = np.asarray(pict_types, '<U1')
    key = np.asarray(is_key, bool) | (types == 'I')
    count = types.shape[0]
    if count and not key.any():
        key[0] = True
    types = np.where(key, 'I', np.where(types == 'B', 'B', 'P'))
    gop_starts = key.copy()
    gop_starts[:1] = True  # frames before the first keyframe: their own GOP
    keyframes = np.flatnonzero(gop_starts)
    starts = np.searchsorted(keyframes, np.arange(count), side='right') - 1
    gop_start = keyframes[starts] if count else keyframes
    past, future = _distances(types != 'B', count)
    frames = np.arange(count, dtype=np.int64)
    return VideoIndex(
        pts=frames, timestamps=np.asarray(timestamps, np.float64),
        pict_types=types.astype('<U1'), keyframes=keyframes.astype(np.int64),
        gop_start=gop_start.astype(np.int64), past_distance=past,
        future_distance=future, seek_ts=keyframes.astype(np.int64))
