"""Video -> normalised multi-clip tensor, as the ModelScope embedding pipeline.

Steps: sample ``num_clips`` clips (:mod:`.clip_sampling`), resize every frame
so its short side is ``scale_size`` pixels (bilinear with antialiasing, output
size rounded), centre-crop ``crop_size``, subtract ``mean`` and divide by
``std`` (RGB, 0-255 units, equal to ImageNet's on [0, 1]).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import List, Mapping, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .clip_sampling import clip_frame_indices
from .video_reader import read_frames

VideoInput = Union[str, os.PathLike, np.ndarray]
IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]
RESIZE_BACKENDS = ('pil', 'torch')


@dataclass
class EmbeddingSettings:
    """Preprocessing values of an embedding config (frames and pixels)."""

    clip_len: int = 16
    frame_interval: int = 4
    num_clips: int = 10
    scale_size: int = 128
    crop_size: int = 112
    mean: List[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: List[float] = field(default_factory=lambda: list(IMAGENET_STD))
    normalize: bool = False
    resize_backend: str = 'pil'

    def __post_init__(self) -> None:
        if self.resize_backend not in RESIZE_BACKENDS:
            raise ValueError(f'embedding.resize_backend must be one of '
                             f'{RESIZE_BACKENDS}, got {self.resize_backend!r}')
        if self.crop_size > self.scale_size:
            raise ValueError(f'embedding.crop_size ({self.crop_size}) must '
                             f'not exceed scale_size ({self.scale_size})')
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError('embedding.mean and embedding.std need 3 values '
                             '(RGB, 0-255 units)')

    @classmethod
    def from_cfg(cls, cfg: Mapping) -> 'EmbeddingSettings':
        """Settings from a config's ``embedding`` dict (unknown keys fail)."""
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known
        if unknown:
            raise KeyError(f'unknown keys {sorted(unknown)} in the embedding '
                           f'config; allowed: {sorted(known)}')
        return cls(**{k: (list(v) if isinstance(v, (list, tuple)) else v)
                      for k, v in cfg.items()})

    def to_dict(self) -> dict:
        """Plain dict (for checkpoint metadata and logs)."""
        return asdict(self)


def resized_size(height: int, width: int, short_side: int) -> Tuple[int, int]:
    """(height, width) after scaling the short side to ``short_side`` px."""
    scale = short_side / min(height, width)
    return int(round(height * scale)), int(round(width * scale))


def resize_frames(frames: np.ndarray, short_side: int,
                  backend: str = 'pil') -> np.ndarray:
    """Resize uint8 (N, H, W, 3) frames so the short side is ``short_side``.

    ``'pil'``: PIL bilinear (antialiased when shrinking), exactly the
    reference pipeline. ``'torch'``: ``F.interpolate(antialias=True)``,
    rounded to uint8; within about one grey level of PIL.
    """
    height, width = frames.shape[1:3]
    out_h, out_w = resized_size(height, width, short_side)
    if (out_h, out_w) == (height, width):
        return frames
    if backend == 'pil':
        return np.stack([
            np.asarray(Image.fromarray(f).resize((out_w, out_h),
                                                 Image.BILINEAR))
            for f in frames])
    if backend == 'torch':
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        y = F.interpolate(x.float(), size=(out_h, out_w), mode='bilinear',
                          align_corners=False, antialias=True)
        y = y.round_().clamp_(0, 255).to(torch.uint8)
        return y.permute(0, 2, 3, 1).numpy()
    raise ValueError(f'unknown resize backend {backend!r}; use one of '
                     f'{RESIZE_BACKENDS}')


def center_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """Centre crop ``size`` x ``size`` of (N, H, W, C) (offsets floored)."""
    height, width = frames.shape[1:3]
    if min(height, width) < size:
        raise ValueError(f'cannot crop {size}x{size} from {height}x{width} '
                         'frames')
    top, left = (height - size) // 2, (width - size) // 2
    return frames[:, top:top + size, left:left + size]


def read_video_frames(video: VideoInput, settings: EmbeddingSettings
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """(unique frames uint8 (U, H, W, 3), clip indices (num_clips, clip_len)
    into them) for a video path or an RGB uint8 (T, H, W, 3) array."""

    def plan(num_frames: int) -> np.ndarray:
        return clip_frame_indices(num_frames, settings.clip_len,
                                  settings.frame_interval, settings.num_clips)

    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
            raise ValueError('a video array must be uint8 (T, H, W, 3) RGB, '
                             f'got {video.dtype} {video.shape}')
        num_frames = video.shape[0]
        unique = np.unique(plan(num_frames))
        frames = video[unique]
    else:
        num_frames, unique, frames = read_frames(video, plan)
    return frames, np.searchsorted(unique, plan(num_frames))


def video_to_clips(video: VideoInput,
                   settings: EmbeddingSettings) -> torch.Tensor:
    """Normalised clips float32 (num_clips, 3, clip_len, crop, crop)."""
    frames, inverse = read_video_frames(video, settings)
    frames = center_crop(
        resize_frames(frames, settings.scale_size, settings.resize_backend),
        settings.crop_size)
    x = torch.from_numpy(np.ascontiguousarray(frames)).float()
    mean = torch.tensor(settings.mean, dtype=torch.float32)
    std = torch.tensor(settings.std, dtype=torch.float32)
    x = (x - mean) / std  # (U, S, S, 3)
    clips = x[torch.from_numpy(inverse)]  # (num_clips, clip_len, S, S, 3)
    return clips.permute(0, 4, 1, 2, 3).contiguous()
