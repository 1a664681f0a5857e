"""Stream pictures into an animated GIF (Pillow) or an MP4 (PyAV, H.264).

Each :meth:`AnimationWriter.write` encodes its frame and writes it to the
file at once, so memory stays one frame however long the animation. GIF
frames get their own 256-colour palette (a local colour table).
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import BinaryIO, Optional

import av
import numpy as np
from PIL import GifImagePlugin, Image

from mmcmd.codec.encode import add_video_stream

FORMATS = ('gif', 'mp4')


class AnimationWriter:
    """Writes RGB uint8 (H, W, 3) frames of one size to a GIF or MP4 file.

    Args:
        path: output file; its directory is created.
        fps: frames per second of the animation.
        fmt: 'gif' or 'mp4'; None = from the file name's extension.
        quality: H.264 CRF of an MP4 (lower is better, 18 looks lossless).
    """

    def __init__(self, path: str, fps: float = 25.0,
                 fmt: Optional[str] = None, quality: int = 18) -> None:
        if fmt is None:
            fmt = os.path.splitext(path)[1].lower().lstrip('.')
        if fmt not in FORMATS:
            raise ValueError(f'{path}: unknown animation format {fmt!r}; '
                             f'use a file name ending in .gif or .mp4')
        if fps <= 0:
            raise ValueError(f'fps must be > 0, got {fps}')
        self.path, self.fmt, self.fps = path, fmt, float(fps)
        self.quality = int(quality)
        self.frames_written = 0
        self._size: Optional[tuple] = None
        self._file: Optional[BinaryIO] = None
        self._container = None
        self._stream = None
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)

    def write(self, image: np.ndarray) -> None:
        """Append one frame (RGB uint8, the first frame's size)."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        size = (image.shape[1], image.shape[0])
        if self._size is None:
            self._size = size
            self._open(image)
        elif size != self._size:
            raise ValueError(f'{self.path}: frame {self.frames_written} is '
                             f'{size[0]}x{size[1]}, the animation '
                             f'{self._size[0]}x{self._size[1]}')
        if self.fmt == 'gif':
            self._write_gif(image)
        else:
            frame = av.VideoFrame.from_ndarray(image, format='rgb24')
            self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def _open(self, image: np.ndarray) -> None:
        """Start the file with the first frame's size."""
        width, height = self._size
        if self.fmt == 'gif':
            self._file = open(self.path, 'wb')
            first = self._quantize(image)
            header, _ = GifImagePlugin.getheader(
                first, info={'loop': 0, 'duration': self._delay_ms()})
            self._file.write(b''.join(header))
            return
        if width % 2 or height % 2:
            raise ValueError(f'{self.path}: MP4 (yuv420p) needs an even '
                             f'size, got {width}x{height}')
        self._container = av.open(self.path, mode='w')
        rate = Fraction(self.fps).limit_denominator(1001)
        self._stream = add_video_stream(self._container, 'h264', width,
                                        height, rate, gop=int(2 * self.fps)
                                        or 1, quality=self.quality)

    def _delay_ms(self) -> int:
        """Frame delay in ms, in the GIF's 10 ms steps (at least 20 ms)."""
        return max(20, int(round(100.0 / self.fps)) * 10)

    @staticmethod
    def _quantize(image: np.ndarray) -> Image.Image:
        """The frame in 256 colours of its own palette, without dithering."""
        return Image.fromarray(image, 'RGB').quantize(
            colors=256, method=Image.Quantize.FASTOCTREE,
            dither=Image.Dither.NONE)

    def _write_gif(self, image: np.ndarray) -> None:
        """One GIF image block with its own colour table."""
        picture = self._quantize(image)
        for chunk in GifImagePlugin.getdata(picture, duration=self._delay_ms(),
                                            include_color_table=True):
            self._file.write(chunk)

    def close(self) -> None:
        """Finish the file (GIF trailer, MP4 encoder flush)."""
        if self._file is not None:
            self._file.write(b';')
            self._file.close()
            self._file = None
        if self._container is not None:
            self._container.mux(self._stream.encode())
            self._container.close()
            self._container = None

    def __enter__(self) -> 'AnimationWriter':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
