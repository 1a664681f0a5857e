"""The FFmpeg side of reading: codec tables, picture types, decoders.

Which decoders export motion vectors, how a decoder is configured for them,
and a second, cheaper decoder for passes that need motion vectors only.
"""
from __future__ import annotations

from typing import List, Optional

import av

from .errors import VideoOpenError

#: decoders of PyAV's FFmpeg that export motion vectors with export_mvs.
MOTION_VECTOR_CODECS = frozenset({
    'h264', 'mpeg4', 'mpeg2video', 'mpeg1video', 'h263', 'h263p', 'h263i',
    'flv', 'msmpeg4', 'msmpeg4v1', 'msmpeg4v2', 'wmv1', 'wmv2'})

#: decoders whose B-frame vectors come out as zeros (MPEG-4 Part 2 direct
#: and interpolated modes are not exported): their B-frames get mask False.
ZERO_B_FRAME_CODECS = frozenset({'mpeg4', 'h263', 'h263p', 'msmpeg4', 'wmv1',
                                 'wmv2'})

#: decoders whose motion vectors do not depend on reconstructed pixels
#: (tested bit-identical): motion-only passes skip their loop filter and
#: inverse transform.
PIXEL_FREE_MOTION_CODECS = frozenset({'h264', 'mpeg4', 'mpeg2video',
                                      'mpeg1video'})

#: decoders whose P-frame vectors depend on the bitstream and spatial
#: neighbours only: in a stream without B-frames, a motion-only pass decodes
#: the GOP's I-frame and then skips to the first frame it needs (tested
#: bit-identical against decoding every frame).
SKIP_AHEAD_MOTION_CODECS = frozenset({'h264'})

#: picture type numbers of FFmpeg's AVPictureType.
_PICT_TYPES = {1: 'I', 2: 'P', 3: 'B', 4: 'S', 5: 'I', 6: 'P', 7: 'B'}


def pict_type_char(pict_type: object) -> str:
    """'I', 'P' or 'B' for a frame's pict_type (int or enum, PyAV 18/19+)."""
    try:
        return _PICT_TYPES.get(int(pict_type), '?')  # type: ignore[arg-type]
    except (TypeError, ValueError):
        name = str(getattr(pict_type, 'name', pict_type)).upper()
        return name[:1] if name[:1] in 'IPB' else '?'


def open_container(path: str) -> av.container.InputContainer:
    """Open ``path`` with FFmpeg; VideoOpenError naming it when it cannot."""
    try:
        return av.open(path, metadata_errors='ignore')
    except (av.error.FFmpegError, OSError, ValueError,
            UnicodeDecodeError) as error:
        raise VideoOpenError(
            path, 'FFmpeg cannot open it as a video ('
            f'{getattr(error, "strerror", None) or error}); '
            'check that the file is complete and really a video') from None


def configure_decoder(context: av.CodecContext, export_motion: bool,
                      threads: int) -> None:
    """Set motion-vector export and thread count (1 = single-threaded)."""
    if export_motion:
        context.options = {'flags2': '+export_mvs'}
    context.thread_count = threads
    if threads != 1:
        context.thread_type = 'AUTO'  # frame and slice threads


def motion_only_decoder(source: av.CodecContext, threads: int
                        ) -> av.CodecContext:
    """A second decoder of ``source``'s stream that exports motion only.

    It skips the loop filter and the inverse transform: motion vectors are
    parsed from the bitstream, so they come out bit-identical (for
    :data:`PIXEL_FREE_MOTION_CODECS`) while decoding takes about 15% less
    time (H.264); the frames' pixels are not exact.
    """
    decoder = av.CodecContext.create(source.codec, 'r')
    if source.extradata:
        decoder.extradata = source.extradata
    decoder.width, decoder.height = source.width, source.height
    decoder.pix_fmt = source.pix_fmt
    configure_decoder(decoder, True, threads)
    decoder.options = {'flags2': '+export_mvs', 'skip_loop_filter': 'all',
                       'skip_idct': 'all'}
    return decoder


try:  # PyAV's side-data wrapper, built without caching it on the frame
    from av.sidedata.sidedata import SideDataContainer as _SideData
    from av.sidedata.sidedata import Type as _SideDataType
    _MOTION_VECTORS = _SideDataType.MOTION_VECTORS
except (ImportError, AttributeError):  # pragma: no cover - other PyAV
    _SideData = None


def motion_vector_bytes(frame: av.VideoFrame) -> Optional[bytes]:
    """A copy of ``frame``'s MOTION_VECTORS side data (AVMotionVector
    records), or None when it has none.

    ``frame.side_data`` caches a container on the frame that points back at
    it; the cycle keeps every decoded picture alive until the garbage
    collector runs, so the decoder allocates fresh pictures instead of
    reusing its pool (about 15 us per 340x256 frame). A container of our
    own goes away with the last reference, and the frame with it.
    """
    if _SideData is None:  # pragma: no cover - other PyAV
        side = frame.side_data.get('MOTION_VECTORS')
        return None if side is None else bytes(side)
    for side in _SideData(frame):
        if side.type is _MOTION_VECTORS:
            return bytes(side)
    return None


def decode_packet(packet: Optional[av.Packet], decoder: av.CodecContext
                  ) -> List[av.VideoFrame]:
    """Frames out of ``decoder`` for ``packet`` (None: drain it), hidden
    ones included."""
    if packet is None or not packet.is_discard:
        return decoder.decode(packet)
    # The decoder drops the frames of packets flagged discard; a copy
    # without the flag gives them (shown frames are predicted from them).
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts = packet.pts, packet.dts
    copy.time_base = packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return decoder.decode(copy)
