"""Encoded test videos with known content motion, written with PyAV.

:func:`write_panning_video` draws a procedurally textured scene and pans it
by a known motion per frame, so a decoder's motion vectors and frames can be
checked against exact numbers. :func:`write_frames` is the one video writer
of the project: tests, the synthetic benchmark generator
(:mod:`mmcmd.datasets.synthetic`) and the tools' sample videos all encode
through it. Public test helpers, like ``numpy.testing``: PyAV + numpy only.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Dict, Optional, Sequence, Tuple

import av
import numpy as np

from .encode import ENCODERS, add_video_stream


def textured_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random smooth but detailed RGB texture, float32 (H, W, 3), 0..255."""
    rng = np.random.default_rng(seed)
    scene = np.zeros((height, width, 3), np.float32)
    # Sum of noise octaves upsampled bilinearly: blobs plus fine detail, with
    # no period, so block matching has one clear answer everywhere.
    for cell, weight in ((16, 0.45), (6, 0.35), (3, 0.2)):
        coarse = rng.random((height // cell + 2, width // cell + 2, 3))
        ys = np.arange(height, dtype=np.float32) / cell
        xs = np.arange(width, dtype=np.float32) / cell
        scene += weight * _bilinear(coarse.astype(np.float32), ys, xs)
    scene -= scene.min()
    scene *= 255.0 / max(float(scene.max()), 1e-6)
    return scene


def _bilinear(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample ``image`` (H, W, C) at the grid ``ys`` x ``xs`` (pixels)."""
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    y1 = np.minimum(y0 + 1, image.shape[0] - 1)
    x1 = np.minimum(x0 + 1, image.shape[1] - 1)
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def panning_frames(size: Tuple[int, int], frames: int,
                   motion: Tuple[float, float],
                   seed: int = 0) -> np.ndarray:
    """RGB frames uint8 (N, H, W, 3) whose content moves ``motion`` px/frame.

    ``size`` is (width, height); ``motion`` is (dx, dy) of the content in
    pixels per frame (positive dx: content moves right).
    """
    width, height = size
    dx, dy = motion
    span_x = abs(dx) * (frames - 1)
    span_y = abs(dy) * (frames - 1)
    margin = 8
    scene = textured_scene(int(np.ceil(height + span_y)) + 2 * margin,
                           int(np.ceil(width + span_x)) + 2 * margin, seed)
    # Frame t shows the scene at offset origin - t * motion, so a scene point
    # drawn at x in frame 0 is at x + t * dx in frame t.
    origin_x = margin + (span_x if dx > 0 else 0.0)
    origin_y = margin + (span_y if dy > 0 else 0.0)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        xs = origin_x - t * dx + np.arange(width, dtype=np.float64)
        ys = origin_y - t * dy + np.arange(height, dtype=np.float64)
        out[t] = np.clip(_bilinear(scene, ys, xs) + 0.5, 0, 255)
    return out


def write_frames(path: str, frames: np.ndarray, codec: str = 'h264',
                 fps: int = 25, gop: int = 12, bframes: int = 0,
                 refs: int = 1, quality: Optional[int] = None,
                 intra_only: bool = False, pyramid: bool = False,
                 options: Optional[Dict[str, str]] = None) -> str:
    """Encode RGB frames uint8 (N, H, W, 3) to ``path``; return the path.

    The one video writer of the project (tests, the synthetic benchmark
    generator, the tools' sample videos). ``codec`` is a codec name of
    :data:`mmcmd.codec.encode.ENCODERS` or an FFmpeg encoder name; ``gop``
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


def write_panning_video(path: str, codec: str = 'h264',
                        size: Tuple[int, int] = (96, 64), frames: int = 24,
                        motion: Tuple[float, float] = (2.0, 1.0),
                        gop: int = 12, bframes: int = 0, refs: int = 1,
                        fps: int = 25, seed: int = 0,
                        intra_only: bool = False,
                        quality: Optional[int] = None,
                        pyramid: bool = False) -> str:
    """Write a textured scene panned by ``motion`` (dx, dy) px/frame.

    ``size`` is (width, height) in pixels. Content moves by exactly
    ``motion`` pixels from one frame to the next (bilinear resampling for
    sub-pixel motion), so codec motion vectors can be checked against it.
    ``quality`` is the CRF / quantiser (default: near-lossless);
    ``pyramid`` lets H.264 B-frames serve as references.
    """
    rgb = panning_frames(size, frames, motion, seed)
    return write_frames(path, rgb, codec=codec, fps=fps, gop=gop,
                        bframes=bframes, refs=refs, quality=quality,
                        intra_only=intra_only, pyramid=pyramid)


def write_audio_only(path: str, seconds: float = 0.5,
                     sample_rate: int = 16000) -> str:
    """Write a file holding one AAC audio stream and no video; return path."""
    samples = int(seconds * sample_rate)
    tone = np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, samples))
    with av.open(path, mode='w') as container:
        stream = container.add_stream('aac', rate=sample_rate)
        chunk = 1024
        for start in range(0, samples, chunk):
            block = tone[start:start + chunk].astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(block, format='fltp',
                                               layout='mono')
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_all_rgb(path: str, indices: Optional[Sequence[int]] = None
                   ) -> np.ndarray:
    """Straightforward PyAV decode of every frame to RGB uint8 (N, H, W, 3)."""
    with av.open(path) as container:
        frames = [f.to_ndarray(format='rgb24')
                  for f in container.decode(video=0)]
    stack = np.stack(frames)
    return stack if indices is None else stack[np.asarray(indices)]


def write_remuxed(source: str, target: str, hidden_frames: int = 0,
                  head: str = 'keep') -> str:
    """Copy ``source``'s video packets into ``target`` unchanged, except:

    ``hidden_frames`` > 0 shifts every timestamp back by that many frames,
    so the container hides them before time 0 (an MP4 edit list, as
    ``ffmpeg -ss T -c copy`` writes when T falls inside a GOP);
    ``head='unflag'`` clears the first packet's key flag (the container's
    seek index then has no entry at the head), ``head='drop'`` leaves the
    first packet (the first keyframe) out.
    """
    with av.open(source) as inp, av.open(target, 'w') as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        step = int(round(1 / (stream.time_base * stream.average_rate)))
        first = True
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue  # the demuxer's final flush packet
            if first and head == 'drop':
                first = False
                continue
            if first and head == 'unflag':
                packet.is_keyframe = False
            first = False
            packet.pts -= hidden_frames * step
            packet.dts -= hidden_frames * step
            packet.stream = copy
            out.mux(packet)
    return target
