"""Label-free activation maps of a clip backbone, drawn over the frames.

DSM shows where a self-supervised backbone looks without any label: the
channel sum of the last feature map, (C, T', H', W') -> (T', H', W'),
trilinearly upsampled to the clip's (T, H, W), min-max normalised over the
clip to [0, 1] and blended as a JET heat map over the frames (50 / 50)::

    clip (3, T, H, W) -> backbone -> last map (C, T', H', W')
      -> sum over C -> upsample (T, H, W) -> [0, 1] -> colour -> blend

The pieces (normalising, colouring, blending, picture files) are shared with
the class activation maps of :mod:`mmcmd.visualization.cam`. Needs torch,
numpy, matplotlib and Pillow; no OpenMMLab import.
"""
from __future__ import annotations

import os
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from PIL import Image

from .animation import AnimationWriter
from .panels import animation_pictures, strip_indices, strip_picture

Features = Union[torch.Tensor, Tuple[torch.Tensor, ...]]
Backbone = Callable[[torch.Tensor], Features]

#: share of the heat map in a blended pixel (the rest is the frame).
DEFAULT_ALPHA = 0.5
DEFAULT_CMAP = 'jet'


def last_map(features: Features) -> torch.Tensor:
    """The deepest (last) output of a backbone: a tensor or a tuple's last."""
    return features[-1] if isinstance(features, (tuple, list)) else features


def as_batch(clips: torch.Tensor) -> Tuple[torch.Tensor, bool]:
    """(3, T, H, W) or (N, 3, T, H, W) -> (N, 3, T, H, W), was it one clip."""
    if clips.dim() == 4:
        return clips.unsqueeze(0), True
    if clips.dim() != 5:
        raise ValueError('expected a clip (3, T, H, W) or clips (N, 3, T, '
                         f'H, W), got shape {tuple(clips.shape)}')
    return clips, False


def normalise_map(maps: torch.Tensor, per_frame: bool = False
                  ) -> torch.Tensor:
    """Min-max normalise (N, T, H, W) maps to [0, 1], each clip (or each
    frame if ``per_frame``) on its own; a constant map becomes 0."""
    dims = (2, 3) if per_frame else (1, 2, 3)
    low = maps.amin(dim=dims, keepdim=True)
    span = maps.amax(dim=dims, keepdim=True) - low
    out = (maps - low) / span.clamp_min(torch.finfo(maps.dtype).tiny)
    return torch.where(span > 0, out, torch.zeros_like(out)).clamp_(0, 1)


def upsample_map(maps: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Trilinear (N, T', H', W') -> (N, T, H, W), ``size`` = (T, H, W)."""
    return F.interpolate(maps.unsqueeze(1).float(), size=tuple(size),
                         mode='trilinear', align_corners=False).squeeze(1)


@torch.no_grad()
def activation_map(backbone: Backbone, clips: torch.Tensor,
                   per_frame: bool = False) -> torch.Tensor:
    """Channel-sum activation map of ``backbone`` on normalised clips.

    Args:
        backbone: clip encoder returning (N, C, T', H', W') maps (a tuple:
            its last map is used). Call ``eval()`` on it first for maps
            that do not depend on the batch.
        clips: (3, T, H, W) or (N, 3, T, H, W), normalised as the backbone
            expects (e.g. by the model's data preprocessor).
        per_frame: min-max normalise each frame instead of the whole clip.

    Returns:
        float (T, H, W), or (N, T, H, W) for a batch, in [0, 1].
    """
    batch, single = as_batch(clips)
    features = last_map(backbone(batch))
    if features.dim() != 5:
        raise ValueError('the backbone must return (N, C, T, H, W) maps, got '
                         f'shape {tuple(features.shape)}')
    heat = upsample_map(features.sum(dim=1), batch.shape[2:])
    heat = normalise_map(heat, per_frame=per_frame)
    return heat[0] if single else heat


def clip_frames(clip: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    """A uint8 (3, T, H, W) clip (as a test pipeline packs it) -> RGB
    uint8 (T, H, W, 3) frames."""
    array = clip.cpu().numpy() if isinstance(clip, torch.Tensor) else clip
    if array.ndim != 4 or array.shape[0] != 3:
        raise ValueError('expected a clip (3, T, H, W), got shape '
                         f'{tuple(array.shape)}')
    return np.ascontiguousarray(
        np.clip(array, 0, 255).astype(np.uint8).transpose(1, 2, 3, 0))


def heat_colours(heat: Union[torch.Tensor, np.ndarray],
                 cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """Values in [0, 1], any shape -> RGB uint8 (..., 3) of colour map
    ``cmap`` (a matplotlib name; JET: blue = low, red = high)."""
    if isinstance(heat, torch.Tensor):
        heat = heat.detach().cpu().numpy()
    rgba = colormaps[cmap](np.clip(np.asarray(heat, np.float64), 0, 1))
    return np.round(rgba[..., :3] * 255).astype(np.uint8)


def blend_heatmap(frames: np.ndarray, heat: Union[torch.Tensor, np.ndarray],
                  alpha: float = DEFAULT_ALPHA,
                  cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """Heat map over frames: ``alpha * colour(heat) + (1 - alpha) * frame``.

    Args:
        frames: RGB uint8 (T, H, W, 3).
        heat: (T, H, W) values in [0, 1] (e.g. :func:`activation_map`).
        alpha: share of the heat map, in [0, 1].
        cmap: matplotlib colour map name.

    Returns:
        RGB uint8 (T, H, W, 3).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    colours = heat_colours(heat, cmap)
    if colours.shape != frames.shape:
        raise ValueError(f'heat map {colours.shape[:-1]} and frames '
                         f'{frames.shape[:-1]} differ in size')
    mixed = alpha * colours.astype(np.float64) + (1 - alpha) * frames
    return np.round(mixed).astype(np.uint8)


def frame_strip(rows: Sequence[np.ndarray], count: int = 8,
                gap: int = 2) -> np.ndarray:
    """One picture of ``count`` evenly spread frames per row.

    Args:
        rows: (T, H, W, 3) uint8 frame sequences of one size (e.g. the
            frames, then their overlays).
        count: frames shown per row.
        gap: white pixels between frames and rows.
    """
    shapes = {r.shape for r in rows}
    if len(shapes) != 1:
        raise ValueError(f'rows differ in shape: {sorted(shapes)}')
    t, h, w, _ = rows[0].shape
    index = strip_indices(t, count)
    out = np.full((len(rows) * (h + gap) - gap,
                   len(index) * (w + gap) - gap, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, i in enumerate(index):
            y, x = r * (h + gap), c * (w + gap)
            out[y:y + h, x:x + w] = row[i]
    return out


def side_by_side(rows: Sequence[np.ndarray], gap: int = 2) -> np.ndarray:
    """(T, H, W, 3) sequences -> (T, H', W', 3) with each frame's versions
    next to each other; H' and W' are even (for MP4)."""
    t, h, w, _ = rows[0].shape
    width = len(rows) * (w + gap) - gap
    out = np.full((t, h + h % 2, width + width % 2, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        out[:, :h, i * (w + gap):i * (w + gap) + w] = row
    return out


def write_pictures(stem: str, rows: Sequence[np.ndarray], fmt: str = 'gif',
                   fps: float = 8.0, count: int = 8,
                   labels: Optional[Sequence[str]] = None,
                   title: Optional[str] = None,
                   numbers: Optional[Sequence[Sequence[int]]] = None,
                   colorbar_label: str = 'heat (blended over the frame)',
                   cmap: str = DEFAULT_CMAP,
                   number_label: str = 'frame') -> List[str]:
    """Write ``STEM.png`` (a labelled strip of ``count`` evenly spread
    frames per row, :class:`~mmcmd.visualization.panels.StripRenderer`)
    and ``STEM.gif`` or ``STEM.mp4`` (the rows side by side, one labelled
    picture per frame, :class:`~mmcmd.visualization.panels.
    AnimationRenderer`); return their paths. The folder is created.

    Args:
        stem: output path without the extension.
        rows: (T, H, W, 3) uint8 sequences of one size.
        fmt: 'gif' or 'mp4'.
        fps: animation frames per second.
        count: frames per row of the strip.
        labels: one label per row (default 'row 1', 'row 2', ...).
        title: the pictures' title (default: the stem's file name).
        numbers: ``numbers[r][t]``, the frame number printed over frame t
            of row r (default: t).
        colorbar_label: what the colour bar's colours mean.
        cmap: the colour map the heat maps were drawn with.
        number_label: word printed before each frame number.
    """
    folder = os.path.dirname(os.path.abspath(stem))
    os.makedirs(folder, exist_ok=True)
    labels = list(labels) if labels is not None else [
        f'row {i + 1}' for i in range(len(rows))]
    title = title if title is not None else os.path.basename(stem)
    png = f'{stem}.png'
    Image.fromarray(strip_picture(
        rows, labels, title, count, numbers, colorbar_label, cmap,
        number_label=number_label)).save(png)
    movie = f'{stem}.{fmt}'
    with AnimationWriter(movie, fps=fps, fmt=fmt) as writer:
        for frame in animation_pictures(rows, labels, title, numbers,
                                        colorbar_label, cmap,
                                        number_label=number_label):
            writer.write(frame)
    return [png, movie]
