"""Labelled pictures of frame sequences: strips and animations with a
title, row / panel labels, frame numbers and a colour bar.

The activation-map and reversal-CAM tools show several versions of one clip
(the frames, heat maps blended over them). :class:`StripRenderer` draws
evenly spread frames of each version in rows (one PNG);
:class:`AnimationRenderer` draws the versions side by side, one picture per
frame (GIF / MP4). Both upscale the frames by a whole factor (nearest
neighbour: every pixel of the clip is a square of the picture) so a strip
is at least :data:`MIN_STRIP_WIDTH` px wide and an animation's panels are
at least :data:`MIN_PANEL_HEIGHT` px high: readable on a laptop screen
however small the clip. The frames are placed as raw pixels
(``Figure.figimage``), so :attr:`boxes` says exactly where each one is.
numpy + matplotlib only.
"""
from __future__ import annotations

import math
import textwrap
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colorbar import ColorbarBase
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

#: smallest width of a strip picture, px.
MIN_STRIP_WIDTH = 1000
#: smallest height of an animation's panels, px.
MIN_PANEL_HEIGHT = 256

#: a panel's place in the picture: x, y (from the top-left corner), w, h.
Box = Tuple[int, int, int, int]


def strip_indices(num_frames: int, count: int) -> np.ndarray:
    """``count`` evenly spread frame indices of ``num_frames`` (all if
    fewer), first and last included."""
    if count >= num_frames:
        return np.arange(num_frames)
    return np.round(np.linspace(0, num_frames - 1, count)).astype(int)


def whole_factor(length: int, minimum: int) -> int:
    """Smallest whole factor k >= 1 with ``length * k >= minimum``."""
    if length < 1:
        raise ValueError(f'length must be >= 1, got {length}')
    return max(1, math.ceil(minimum / length))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, C) -> (H * factor, W * factor, C), each pixel repeated."""
    if factor == 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def default_numbers(rows: Sequence[np.ndarray]) -> List[List[int]]:
    """Frame numbers 0..T-1 for every row."""
    return [list(range(len(row))) for row in rows]


def _check_rows(rows: Sequence[np.ndarray], labels: Sequence[str],
                numbers: Optional[Sequence[Sequence[int]]]
                ) -> List[List[int]]:
    """Rows of one shape, one label each; the frame numbers to print."""
    if not rows:
        raise ValueError('no rows to draw')
    shapes = {tuple(r.shape) for r in rows}
    if len(shapes) != 1:
        raise ValueError(f'rows differ in shape: {sorted(shapes)}')
    if len(labels) != len(rows):
        raise ValueError(f'{len(rows)} rows but {len(labels)} labels')
    numbers = default_numbers(rows) if numbers is None else [
        [int(n) for n in row] for row in numbers]
    if len(numbers) != len(rows) or any(len(n) != len(rows[0])
                                         for n in numbers):
        raise ValueError('numbers must hold one frame number per frame of '
                         'every row')
    return numbers


class _Picture:
    """A white matplotlib figure of a fixed size in pixels (100 dpi) with
    helpers placing pixels, text and a colour bar by pixel position from
    the top-left corner."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        self.figure = Figure(figsize=(self.width / 100, self.height / 100),
                             dpi=100, facecolor='white')
        self.canvas = FigureCanvasAgg(self.figure)

    def image(self, pixels: np.ndarray, x: int, y: int):
        """Raw pixels with their top-left corner at (x, y)."""
        base = self.height - y - pixels.shape[0]
        return self.figure.figimage(pixels, xo=x, yo=base, origin='upper')

    def text(self, x: float, y: float, text: str, size: float, **kwargs):
        """Text anchored at pixel (x, y) (``ha`` / ``va`` as matplotlib)."""
        return self.figure.text(x / self.width, 1 - y / self.height, text,
                                fontsize=size, **kwargs)

    def colour_bar(self, x: int, y: int, width: int, height: int,
                   cmap: str, label: str) -> None:
        """A vertical colour bar of ``cmap`` over [0, 1] in the box; its
        label is wrapped to the bar's height."""
        axes = self.figure.add_axes([x / self.width,
                                     1 - (y + height) / self.height,
                                     width / self.width,
                                     height / self.height])
        bar = ColorbarBase(axes, cmap=colormaps[cmap],
                           norm=Normalize(0.0, 1.0), orientation='vertical')
        bar.set_ticks([0.0, 0.5, 1.0])
        bar.set_ticklabels(['0 low', '0.5', '1 high'])
        bar.ax.tick_params(labelsize=9)
        bar.set_label(_wrap(label, max(12, height // 7)), fontsize=9)

    def render(self) -> np.ndarray:
        """The picture, RGB uint8 (H, W, 3)."""
        self.canvas.draw()
        return np.array(self.canvas.buffer_rgba())[..., :3]


def _wrap(text: str, width: int) -> str:
    """``text`` wrapped to lines of at most ``width`` characters."""
    return '\n'.join(textwrap.wrap(text, width)) or text


class StripRenderer:
    """Evenly spread frames of several versions of a clip, one row each.

    Layout, in pixels: a title line; per row a line of frame numbers above
    its frames, the row's label left of them; a colour bar on the right.
    The frames are upscaled by the whole factor :attr:`factor` that makes
    the picture at least ``min_width`` px wide.

    Args:
        shape: (T, H, W) of every row.
        labels: one label per row (e.g. 'frames', 'activation map').
        title: the line above everything.
        count: frames shown per row (all if the clip has fewer).
        colorbar_label: what the colour bar's colours mean.
        cmap: matplotlib colour map of the heat maps.
        min_width: smallest width of the picture, px.
        number_label: word printed before each frame number.

    :meth:`render` draws once: build one renderer per picture.
    """

    TITLE = 48
    NUMBER = 20
    LABEL = 150
    COLORBAR = 120
    PAD = 10
    GAP = 4

    def __init__(self, shape: Sequence[int], labels: Sequence[str],
                 title: str, count: int = 8,
                 colorbar_label: str = 'heat (blended over the frame)',
                 cmap: str = 'jet', min_width: int = MIN_STRIP_WIDTH,
                 number_label: str = 'frame') -> None:
        t, h, w = (int(v) for v in shape)
        self.index = strip_indices(t, count)
        columns = len(self.index)
        fixed = self.LABEL + self.PAD + self.COLORBAR + (columns - 1) * (
            self.GAP)
        self.factor = whole_factor(columns * w, min_width - fixed)
        pw, ph = w * self.factor, h * self.factor
        rows = len(labels)
        width = self.LABEL + columns * (pw + self.GAP) - self.GAP + (
            self.PAD + self.COLORBAR)
        height = self.TITLE + rows * (self.NUMBER + ph + self.GAP) + self.PAD
        self.picture = _Picture(width, height)
        self.boxes: Dict[Tuple[int, int], Box] = {}
        for r in range(rows):
            for c in range(columns):
                self.boxes[r, c] = (self.LABEL + c * (pw + self.GAP),
                                    self.TITLE + r * (
                                        self.NUMBER + ph + self.GAP)
                                    + self.NUMBER, pw, ph)
        self.labels, self.title = list(labels), title
        self.colorbar_label, self.cmap = colorbar_label, cmap
        self.number_label = number_label

    @property
    def size(self) -> Tuple[int, int]:
        """(width, height) of the picture, px."""
        return self.picture.width, self.picture.height

    def render(self, rows: Sequence[np.ndarray],
               numbers: Optional[Sequence[Sequence[int]]] = None
               ) -> np.ndarray:
        """Draw ``rows`` (T, H, W, 3) uint8; ``numbers[r][t]`` is the frame
        number printed over frame t of row r (default: t)."""
        numbers = _check_rows(rows, self.labels, numbers)
        p = self.picture
        p.text(self.PAD, self.TITLE / 2, self.title, 13, ha='left',
               va='center', weight='bold')
        _, _, pw, ph = self.boxes[0, 0]
        for r, row in enumerate(rows):
            for c, i in enumerate(self.index):
                x, y, _, _ = self.boxes[r, c]
                p.image(upscale(np.ascontiguousarray(row[i], np.uint8),
                                self.factor), x, y)
                p.text(x + pw / 2, y - self.NUMBER / 2,
                       f'{self.number_label} {numbers[r][i]}', 9, ha='center',
                       va='center')
            _, y, _, _ = self.boxes[r, 0]
            p.text(self.LABEL - self.PAD, y + ph / 2,
                   _wrap(self.labels[r], 16), 11, ha='right', va='center',
                   multialignment='right')
        right = p.width - self.COLORBAR
        top = self.TITLE + self.NUMBER
        p.colour_bar(right + 14, top, 18, max(60, p.height - top - 2 * (
            self.PAD)), self.cmap, self.colorbar_label)
        return p.render()


class AnimationRenderer:
    """Pictures of an animation: the versions of one frame side by side.

    Layout, in pixels: a title line with the frame number on its right;
    per panel a label line above it (the panel's label and the number of
    the frame it shows); a colour bar on the right. The frames are
    upscaled by the whole factor :attr:`factor` that makes them at least
    ``min_height`` px high. Both sides of the picture are even (MP4).

    Args:
        shape: (T, H, W) of every panel's sequence.
        labels: one label per panel.
        title: the title line.
        colorbar_label: what the colour bar's colours mean.
        cmap: matplotlib colour map of the heat maps.
        min_height: smallest height of a panel, px.
        number_label: word printed before each panel's frame number.
    """

    TITLE = 40
    LABEL = 38
    COLORBAR = 120
    PAD = 10
    GAP = 6

    def __init__(self, shape: Sequence[int], labels: Sequence[str],
                 title: str,
                 colorbar_label: str = 'heat (blended over the frame)',
                 cmap: str = 'jet', min_height: int = MIN_PANEL_HEIGHT,
                 number_label: str = 'frame') -> None:
        t, h, w = (int(v) for v in shape)
        self.num_frames = t
        self.factor = whole_factor(h, min_height)
        pw, ph = w * self.factor, h * self.factor
        panels = len(labels)
        width = self.PAD + panels * (pw + self.GAP) - self.GAP + (
            self.PAD + self.COLORBAR)
        height = self.TITLE + self.LABEL + ph + self.PAD
        width, height = width + width % 2, height + height % 2
        self.picture = _Picture(width, height)
        self.boxes: Dict[int, Box] = {
            i: (self.PAD + i * (pw + self.GAP), self.TITLE + self.LABEL, pw,
                ph) for i in range(panels)}
        self.labels, self.number_label = list(labels), number_label
        p = self.picture
        p.text(self.PAD, self.TITLE / 2, title, 13, ha='left', va='center',
               weight='bold')
        self._counter = p.text(p.width - self.PAD, self.TITLE / 2, '', 12,
                               ha='right', va='center')
        blank = np.zeros((ph, pw, 3), np.uint8)
        self._images, self._labels = [], []
        for i in range(panels):
            x, y, _, _ = self.boxes[i]
            self._images.append(p.image(blank, x, y))
            self._labels.append(p.text(x + pw / 2, y - self.LABEL / 2, '',
                                       10, ha='center', va='center',
                                       multialignment='center'))
        top = self.TITLE + self.LABEL
        p.colour_bar(p.width - self.COLORBAR + 14, top, 18, ph, cmap,
                     colorbar_label)

    @property
    def size(self) -> Tuple[int, int]:
        """(width, height) of a picture, px."""
        return self.picture.width, self.picture.height

    def render(self, panels: Sequence[np.ndarray], t: int,
               numbers: Sequence[int]) -> np.ndarray:
        """Draw frame ``t``: ``panels[i]`` (H, W, 3) uint8 is panel i's
        version of it and ``numbers[i]`` the frame number it shows."""
        if len(panels) != len(self._images):
            raise ValueError(f'{len(self._images)} panels expected, got '
                             f'{len(panels)}')
        for image, text, label, panel, number in zip(
                self._images, self._labels, self.labels, panels, numbers):
            image.set_data(upscale(np.ascontiguousarray(panel, np.uint8),
                                   self.factor))
            text.set_text(f'{label}\n{self.number_label} {number}')
        self._counter.set_text(f'step {t + 1} of {self.num_frames}')
        return self.picture.render()


def strip_picture(rows: Sequence[np.ndarray], labels: Sequence[str],
                  title: str, count: int = 8,
                  numbers: Optional[Sequence[Sequence[int]]] = None,
                  colorbar_label: str = 'heat (blended over the frame)',
                  cmap: str = 'jet', min_width: int = MIN_STRIP_WIDTH,
                  number_label: str = 'frame') -> np.ndarray:
    """One labelled strip picture; see :class:`StripRenderer`."""
    renderer = StripRenderer(rows[0].shape[:3], labels, title, count,
                             colorbar_label, cmap, min_width, number_label)
    return renderer.render(rows, numbers)


def animation_pictures(rows: Sequence[np.ndarray], labels: Sequence[str],
                       title: str,
                       numbers: Optional[Sequence[Sequence[int]]] = None,
                       colorbar_label: str = 'heat (blended over the frame)',
                       cmap: str = 'jet',
                       min_height: int = MIN_PANEL_HEIGHT,
                       number_label: str = 'frame') -> Iterator[np.ndarray]:
    """Yield the labelled animation picture of every frame of ``rows``;
    see :class:`AnimationRenderer`."""
    numbers = _check_rows(rows, labels, numbers)
    renderer = AnimationRenderer(rows[0].shape[:3], labels, title,
                                 colorbar_label, cmap, min_height,
                                 number_label)
    for t in range(len(rows[0])):
        yield renderer.render([row[t] for row in rows], t,
                              [n[t] for n in numbers])
