"""Helpers for the tests of decoders, PyAV + numpy only (public, like
``numpy.testing``): an audio-only file, a plain PyAV decode to compare
against, stream-copied files with hidden or unflagged heads.

The video writer is :func:`mmcmd.codec.encode.write_frames` and the sample
videos with known motion are in :mod:`mmcmd.codec.samples`; both are
re-exported here for older imports.
"""
from __future__ import annotations

from typing import Optional, Sequence

import av
import numpy as np

from .encode import write_frames
from .samples import panning_frames, textured_scene, write_panning_video

__all__ = ['decode_all_rgb', 'panning_frames', 'textured_scene',
           'write_audio_only', 'write_frames', 'write_panning_video',
           'write_remuxed']


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
