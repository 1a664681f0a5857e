"""Sample videos with known content motion, for the tools and the tests.

:func:`write_panning_video` draws a procedurally textured scene
(:func:`textured_scene`) and pans it by a known motion per frame
(:func:`panning_frames`), so a decoder's motion vectors and frames can be
checked against exact numbers; the tools' benchmarks and fuzzers start from
such files. PyAV + numpy only; the file is written by
:func:`mmcmd.codec.encode.write_frames`.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .encode import write_frames


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
