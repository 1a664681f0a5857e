"""Documented exceptions of the compressed-domain reader.

Every message names the file and says what to do about it. All derive from
:class:`CodecError`, so a caller that skips bad videos catches one type.
"""
from __future__ import annotations

REENCODE_HINT = ('re-encode it with `python tools/data/reencode.py INPUT '
                 'OUT_DIR` (H.264 or MPEG-4 Part 2, fixed GOP, no B-frames)')


class CodecError(Exception):
    """Base class of every error raised by :mod:`mmcmd.codec`."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f'{self.path}: {reason}')

    def __reduce__(self):
        """Pickle with both arguments (errors cross dataloader workers)."""
        return (type(self), (self.path, self.reason))


class VideoOpenError(CodecError):
    """The file is missing, empty, or not a container FFmpeg can read."""


class NoVideoStreamError(VideoOpenError):
    """The container opened but holds no decodable video stream."""


class NoMotionVectorsError(CodecError):
    """Motion was asked of a codec whose decoder exports no motion vectors."""


class VideoTooShortError(CodecError):
    """The video has fewer decodable frames than the caller needs."""


class VideoDecodeError(CodecError):
    """Packets could not be decoded (corrupt or cut-short data)."""


class FrameIndexError(CodecError, IndexError):
    """A requested frame index lies outside ``[0, num_frames)``."""


class DecodeBudgetError(CodecError):
    """Indexing or one ``decode()`` call ran past its time budget (seconds)."""
