"""Encoding with clean motion vectors: fixed GOP, no B-frames, one reference.

Such streams make the motion contract exact (every P-frame vector spans one
frame). :func:`reencode` converts any video FFmpeg can decode;
``tools/data/reencode.py`` runs it over a dataset. :func:`write_frames` is
the project's one video writer (RGB frames to a file).
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Dict, Optional, Tuple

import av
import numpy as np

from .errors import NoVideoStreamError, VideoDecodeError, VideoOpenError

#: encoder names of PyAV's bundled FFmpeg for the codec names accepted here.
ENCODERS: Dict[str, str] = {
    'h264': 'libx264',
    'mpeg4': 'mpeg4',
    'mpeg2video': 'mpeg2video',
    'hevc': 'libx265',
    'vp9': 'libvpx-vp9',
}


def encoder_options(encoder: str, gop: int, bframes: int = 0, refs: int = 1,
                    quality: Optional[int] = None, preset: str = 'medium',
                    pyramid: bool = False) -> Dict[str, str]:
    """FFmpeg private options for a fixed GOP with the asked B/ref setup.

    ``quality`` is the CRF for libx264/libx265/libvpx-vp9 (default 18 / 20
    / 20) and the constant quantiser for mpeg4/mpeg2video (default 1, as
    the CMD reference's data); lower is better. ``pyramid`` lets x264 use
    B-frames as references.
    """
    if encoder == 'libx264':
        params = (f'keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}'
                  f':b-adapt=0:b-pyramid={"normal" if pyramid else "none"}'
                  f':ref={refs}')
        return {'x264-params': params, 'crf': str(quality or 18),
                'preset': preset}
    if encoder == 'libx265':
        params = (f'keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}'
                  f':ref={refs}:log-level=error')
        return {'x265-params': params, 'crf': str(quality or 20)}
    if encoder == 'libvpx-vp9':
        return {'g': str(gop), 'crf': str(quality or 20), 'b:v': '0'}
    return {'g': str(gop), 'bf': str(bframes), 'qscale': str(quality or 1),
            'flags': '+qscale', 'me_range': '24'}


def add_video_stream(container: av.container.OutputContainer, codec: str,
                     width: int, height: int, rate: Fraction, gop: int,
                     bframes: int = 0, refs: int = 1,
                     quality: Optional[int] = None, preset: str = 'medium',
                     pyramid: bool = False) -> av.VideoStream:
    """Add a yuv420p video stream with the given GOP, B-frames, references."""
    encoder = ENCODERS.get(codec, codec)
    stream = container.add_stream(encoder, rate=rate)
    stream.width, stream.height = int(width), int(height)
    stream.pix_fmt = 'yuv420p'
    stream.options = encoder_options(encoder, gop, bframes, refs, quality,
                                     preset, pyramid)
    if encoder not in ('libx264', 'libx265'):
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = bframes
    return stream


def output_size(width: int, height: int,
                size: Optional[Tuple[int, int]] = None,
                short_side: Optional[int] = None) -> Tuple[int, int]:
    """Output (width, height): ``size``, or scaled to ``short_side``; even."""
    if size is not None:
        width, height = size
    elif short_side is not None:
        scale = short_side / min(width, height)
        width, height = round(width * scale), round(height * scale)
    return max(2, int(width) // 2 * 2), max(2, int(height) // 2 * 2)


def write_frames(path: str, frames: np.ndarray, codec: str = 'h264',
                 fps: int = 25, gop: int = 12, bframes: int = 0,
                 refs: int = 1, quality: Optional[int] = None,
                 intra_only: bool = False, pyramid: bool = False,
                 options: Optional[Dict[str, str]] = None) -> str:
    """Encode RGB frames uint8 (N, H, W, 3) to ``path``; return the path.

    The one video writer of the project (the synthetic benchmark generator,
    the tools' sample videos, tests). ``codec`` is a codec name of
    :data:`ENCODERS` or an FFmpeg encoder name; ``gop``
    is the keyframe interval in frames, ``bframes`` the largest run of
    B-frames, ``refs`` the number of reference frames (H.264/HEVC only),
    ``quality`` the CRF or quantiser (default: near-lossless), ``pyramid``
    H.264 reference B-frames. ``intra_only`` writes every frame as an
    I-frame. ``options`` replaces the FFmpeg private options those settings
    give, for encoder settings they do not cover (``gop`` and ``bframes``
    still set the codec context). The file appears only when complete: it
    is written as ``<name>.part<ext>`` and renamed.
    """
    if intra_only:
        gop, bframes = 1, 0
    if quality is None:
        quality = 2 if ENCODERS.get(codec, codec) in ('mpeg4',
                                                      'mpeg2video') else 14
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    root, ext = os.path.splitext(path)
    partial = f'{root}.part{ext}'  # the extension picks the container
    with av.open(partial, mode='w') as container:
        stream = add_video_stream(container, codec, frames.shape[2],
                                  frames.shape[1], Fraction(fps), gop,
                                  bframes, refs, quality, pyramid=pyramid)
        if options is not None:
            stream.options = dict(options)
            stream.codec_context.gop_size = gop
            stream.codec_context.max_b_frames = bframes
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(partial, path)
    return path


def reencode(src: str, dst: str, codec: str = 'h264', gop: int = 12,
             size: Optional[Tuple[int, int]] = None,
             short_side: Optional[int] = None, quality: Optional[int] = None,
             preset: str = 'medium') -> int:
    """Re-encode ``src`` to ``dst`` with clean motion; return frames written.

    Video only (audio is dropped), constant frame rate at the source's
    average rate, no B-frames, one reference frame, a keyframe every
    ``gop`` frames. ``dst`` appears only when complete: the encoder writes
    a temporary file next to it and renames it at the end.
    """
    try:
        source = av.open(src, metadata_errors='ignore')
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise VideoOpenError(src, f'FFmpeg cannot open it ({error})') from None
    temporary = f'{dst}.part{os.getpid()}{os.path.splitext(dst)[1]}'
    try:
        with source:
            if not source.streams.video:
                raise NoVideoStreamError(src, 'no video stream to re-encode')
            stream = source.streams.video[0]
            stream.thread_type = 'AUTO'
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            frames = _transcode(source, stream, temporary, codec, gop, rate,
                                size, short_side, quality, preset)
        if frames == 0:
            raise VideoDecodeError(src, 'no frame could be decoded')
        os.replace(temporary, dst)
        return frames
    except av.error.FFmpegError as error:
        raise VideoDecodeError(src, f'decoding failed ({error})') from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _transcode(source, stream, path, codec, gop, rate, size, short_side,
               quality, preset) -> int:
    """Decode ``stream`` and encode it into ``path``; return frame count."""
    frames = 0
    with av.open(path, mode='w') as sink:
        target = None
        for frame in source.decode(stream):
            if target is None:
                width, height = output_size(frame.width, frame.height, size,
                                            short_side)
                target = add_video_stream(sink, codec, width, height, rate,
                                          gop, quality=quality, preset=preset)
            image = frame.reformat(width=target.width, height=target.height,
                                   format='yuv420p')
            image.pts = frames
            image.time_base = Fraction(1) / rate
            for packet in target.encode(image):
                sink.mux(packet)
            frames += 1
        if target is not None:
            for packet in target.encode():
                sink.mux(packet)
    return frames
