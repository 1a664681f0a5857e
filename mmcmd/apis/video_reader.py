"""RGB frames at given display indices of a video file, for embedding.

Uses :class:`mmcmd.codec.CompressedVideo` (frame index + span decoding). If
that reader cannot be imported, falls back to plain PyAV: count frames by
demuxing, then decode once from the start up to the last frame needed.
"""
from __future__ import annotations

import os
from typing import Callable, Tuple, Union

import av
import numpy as np

try:
    from ..codec import CompressedVideo
except ImportError:  # pragma: no cover - depends on the codec package state
    CompressedVideo = None

PathLike = Union[str, os.PathLike]
IndexPlanner = Callable[[int], np.ndarray]


class VideoReadError(RuntimeError):
    """A video file could not be opened or decoded (message names the file)."""


def read_frames_pyav(path: PathLike, plan: IndexPlanner
                     ) -> Tuple[int, np.ndarray, np.ndarray]:
    """(num_frames, sorted unique indices, RGB uint8 (U, H, W, 3)) decoding
    with PyAV only: one demux pass to count, one decode pass."""
    path = os.fspath(path)
    try:
        with av.open(path, metadata_errors='ignore') as container:
            if not container.streams.video:
                raise VideoReadError(f'{path}: no video stream')
            stream = container.streams.video[0]
            num_frames = sum(1 for p in container.demux(stream)
                             if p.size > 0)
    except av.error.FFmpegError as error:
        raise VideoReadError(f'{path}: FFmpeg cannot read it ({error})') \
            from None
    if num_frames == 0:
        raise VideoReadError(f'{path}: the video stream holds no frames')
    wanted = np.unique(plan(num_frames))
    slots = {int(i): n for n, i in enumerate(wanted)}
    out = [None] * len(wanted)
    last = int(wanted[-1])
    try:
        with av.open(path, metadata_errors='ignore') as container:
            stream = container.streams.video[0]
            for number, frame in enumerate(container.decode(stream)):
                if number in slots:
                    out[slots[number]] = frame.to_ndarray(format='rgb24')
                if number >= last:
                    break
    except av.error.FFmpegError as error:
        raise VideoReadError(f'{path}: decoding failed ({error})') from None
    if any(f is None for f in out):
        raise VideoReadError(f'{path}: decoded fewer frames than the '
                             f'{num_frames} packets announce; the file is '
                             'probably cut short')
    return num_frames, wanted, np.stack(out)


def read_frames(path: PathLike, plan: IndexPlanner
                ) -> Tuple[int, np.ndarray, np.ndarray]:
    """(num_frames, sorted unique indices, RGB uint8 (U, H, W, 3)) where the
    indices are ``plan(num_frames)``."""
    if CompressedVideo is None:
        return read_frames_pyav(path, plan)
    with CompressedVideo(path) as reader:
        num_frames = reader.num_frames
        wanted = np.unique(plan(num_frames))
        return num_frames, wanted, reader.read_rgb(wanted)
