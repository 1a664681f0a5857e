"""Motion-vector fields drawn for people: colours, a wheel, a printed scale.

A field ``motion`` float32 (2, h, w) (x, y in px/frame, one cell per 4x4
pixels; see docs/codec.md) becomes colours by direction and speed:

- hue = direction of the content's motion, in screen coordinates (y points
  down): right is red, down yellow-green, left cyan, up violet; the colour
  wheel shows every direction at the same place it points to;
- saturation = speed: white = still, full colour at ``full_scale`` px/frame
  and above;
- black = no vector (I-frames, intra blocks, frames a codec left empty).

:class:`MotionPictureRenderer` draws the side-by-side picture (RGB frame |
motion | wheel with the scale printed), reusing one matplotlib figure so an
animation costs a few milliseconds per frame. numpy + matplotlib only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure

#: smallest automatic full-colour speed, px/frame (a quarter pixel): a
#: nearly still frame is drawn pale instead of blowing its noise up.
MIN_FULL_SCALE = 0.25
#: share (%) of the moving cells drawn below full colour by the automatic
#: scale; the fastest quarter is saturated, so a few wild vectors at an
#: object's edge cannot turn the rest of the picture pale.
SCALE_PERCENTILE = 75.0
#: colour of cells without a vector and of the ring around the wheel.
NO_VECTOR_RGB = (0, 0, 0)
_RING_RGB = (150, 150, 150)
CELL = 4  # pixels per motion cell side


def flow_to_rgb(motion: np.ndarray, mask: Optional[np.ndarray],
                full_scale: float) -> np.ndarray:
    """Colour-code a field (2, h, w) as RGB uint8 (h, w, 3).

    Args:
        motion: x and y motion in px/frame, float (2, h, w).
        mask: bool (h, w), True where a vector exists; None = everywhere.
            Cells without a vector are black.
        full_scale: speed in px/frame drawn at full colour (> 0); faster
            cells keep full colour.
    """
    if full_scale <= 0:
        raise ValueError(f'full_scale must be > 0 px/frame, got {full_scale}')
    x = np.asarray(motion[0], np.float64)
    y = np.asarray(motion[1], np.float64)
    hue = (np.arctan2(y, x) / (2 * np.pi)) % 1.0
    saturation = np.clip(np.hypot(x, y) / full_scale, 0.0, 1.0)
    hsv = np.stack([hue, saturation, np.ones_like(hue)], axis=-1)
    rgb = np.round(hsv_to_rgb(hsv) * 255).astype(np.uint8)
    if mask is not None:
        rgb[~np.asarray(mask, bool)] = NO_VECTOR_RGB
    return rgb


def direction_hue(dx: float, dy: float) -> float:
    """Hue in degrees [0, 360) :func:`flow_to_rgb` gives motion (dx, dy)."""
    return float(np.degrees(np.arctan2(dy, dx)) % 360.0)


def round_scale(speed: float) -> float:
    """``speed`` to two significant digits (whole px/frame from 10 up)."""
    return float(round(speed)) if speed >= 10 else float(f'{speed:.2g}')


def format_scale(speed: float) -> str:
    """The printed form of a full-colour speed, e.g. '3.2 px/frame'."""
    return f'{round_scale(speed):g} px/frame'


def frame_full_scale(motion: np.ndarray, mask: Optional[np.ndarray]
                     ) -> Optional[float]:
    """Automatic full-colour speed of one field (2, h, w), px/frame.

    The :data:`SCALE_PERCENTILE` percentile of the speeds of the moving
    cells (vector present, speed > 0), rounded by :func:`round_scale`, at
    least :data:`MIN_FULL_SCALE`. None when the field has no vector.
    """
    speed = np.hypot(motion[0], motion[1])
    present = (np.ones(speed.shape, bool) if mask is None
               else np.asarray(mask, bool))
    if not present.any():
        return None
    moving = speed[present & (speed > 0)]
    if not moving.size:
        return MIN_FULL_SCALE
    value = float(np.percentile(moving, SCALE_PERCENTILE))
    return max(round_scale(value), MIN_FULL_SCALE)


def motion_strength(motion: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean speed per frame over all cells (no vector counts 0), (T,) px/frame.

    Args:
        motion: float (T, 2, h, w) fields.
        mask: bool (T, h, w), True where a vector exists.
    """
    speed = np.hypot(motion[:, 0], motion[:, 1]) * np.asarray(mask, bool)
    return speed.reshape(len(speed), -1).mean(axis=1)


def robust_strength(motion: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Outlier-proof motion per frame, (T,) px/frame.

    The median speed of the moving cells (vector present, speed > 0) times
    the share of all cells that move: a pan of the whole frame at 2
    px/frame scores 2, an object covering a tenth of the frame at 5
    px/frame scores 0.5. Unlike :func:`motion_strength` (a mean), a few
    wild vectors, or a frame whose vectors are all scaled up (divided by
    too short a distance to their reference), barely move the median.
    A frame without moving cells scores 0.

    Args:
        motion: float (T, 2, h, w) fields.
        mask: bool (T, h, w), True where a vector exists.
    """
    speed = np.hypot(motion[:, 0], motion[:, 1])
    moving = np.asarray(mask, bool) & (speed > 0)
    out = np.zeros(len(speed), np.float64)
    for t in range(len(speed)):
        cells = speed[t][moving[t]]
        if cells.size:
            out[t] = float(np.median(cells)) * cells.size / speed[t].size
    return out


def strongest_frame(motion: np.ndarray, mask: np.ndarray,
                    allowed: Optional[np.ndarray] = None,
                    robust: bool = False) -> int:
    """Index of the frame with the strongest motion (the first on ties).

    Args:
        motion: float (T, 2, h, w) fields.
        mask: bool (T, h, w), True where a vector exists.
        allowed: bool (T,), the frames that may be chosen (e.g. those whose
            motion is exact); None or none allowed: every frame.
        robust: rank by :func:`robust_strength` instead of the mean speed
            (:func:`motion_strength`).
    """
    if len(motion) == 0:
        raise ValueError('no frames to choose from')
    strength = (robust_strength if robust else motion_strength)(motion, mask)
    return choose_strongest(strength, allowed)


def choose_strongest(strength: np.ndarray,
                     allowed: Optional[np.ndarray] = None) -> int:
    """Index of the largest ``strength`` among the ``allowed`` frames
    (bool (T,); None, or no allowed frame with motion: every frame)."""
    strength = np.asarray(strength, np.float64)
    if len(strength) == 0:
        raise ValueError('no frames to choose from')
    if allowed is not None:
        allowed = np.asarray(allowed, bool)
        if (strength[allowed] > 0).any():
            return int(np.argmax(np.where(allowed, strength, -np.inf)))
    return int(np.argmax(strength))


def colour_wheel(diameter: int, background: Tuple[int, int, int] = (
        255, 255, 255)) -> np.ndarray:
    """The legend: RGB uint8 (D, D, 3) disc of every direction and speed.

    The pixel at offset (dx, dy) from the centre has the colour of motion
    (dx, dy) with the rim at full colour, so a cell's colour is found on
    the wheel in the direction the content moves. A grey ring bounds it.
    """
    radius = diameter / 2.0 - 1.0
    centre = (diameter - 1) / 2.0
    grid = np.arange(diameter, dtype=np.float64) - centre
    dx, dy = np.meshgrid(grid, grid)
    distance = np.hypot(dx, dy)
    wheel = flow_to_rgb(np.stack([dx, dy]), None, radius)
    wheel[distance > radius] = background
    wheel[(distance > radius) & (distance <= radius + 1.0)] = _RING_RGB
    return wheel


def _even(value: float) -> int:
    """``value`` rounded to an even integer of at least 2 (video encoders)."""
    return max(2, int(round(value / 2.0)) * 2)


def _nearest(length: int, source: int, step: float = 1.0) -> np.ndarray:
    """Index of the source item (``step`` px wide) under each output pixel.

    ``source`` is the source length in pixels, ``length`` the output's.
    """
    centres = (np.arange(length) + 0.5) * (source / length)
    limit = int(np.ceil(source / step)) - 1
    return np.minimum((centres / step).astype(np.int64), limit)


@dataclass
class MotionPicture:
    """One rendered picture and what it shows."""

    #: the picture, RGB uint8 (H, W, 3).
    image: np.ndarray
    #: display index of the frame (None when not given).
    frame_index: Optional[int]
    #: 'I', 'P' or 'B'.
    pict_type: str
    #: speed drawn at full colour, px/frame; None for a frame without
    #: vectors under per-frame scaling.
    full_scale: Optional[float]
    #: True when the frame has at least one motion vector.
    has_vectors: bool
    #: text written on the motion panel ('I-frame: no motion vectors',
    #: 'no motion vectors'), None for a frame with vectors.
    note: Optional[str]
    #: why this frame's motion is approximate (drawn in red over the
    #: motion panel), None when it is not flagged.
    flag: Optional[str] = None


class MotionPictureRenderer:
    """Draws RGB frames next to their colour-coded motion and a legend.

    Layout, in pixels: a header line of :attr:`HEADER` px; below it the RGB
    panel and the motion panel, each ``even(W * scale)`` x
    ``even(H * scale)``, and a legend column :attr:`LEGEND` px wide (the
    colour wheel, the full-colour speed, the key). Panels and columns are
    :attr:`PAD` px apart. The body is at least :attr:`LEGEND` px high, so
    the size is even in both directions (MP4 needs that); :attr:`size`
    gives it.

    Args:
        width: video frame width, px.
        height: video frame height, px.
        scale: output size factor of each panel (1 = the video's size);
            pixels are repeated or skipped (nearest neighbour), motion
            cells drawn as (4 * scale)-px squares.
        full_scale: fixed speed drawn at full colour, px/frame, for every
            frame; None = per frame (:func:`frame_full_scale`).
        font_size: text size in points (at 100 pixels per inch).
    """

    HEADER = 20
    LEGEND = 112
    PAD = 6
    WHEEL = 64

    def __init__(self, width: int, height: int, scale: float = 1.0,
                 full_scale: Optional[float] = None,
                 font_size: float = 8.0) -> None:
        if width < 1 or height < 1:
            raise ValueError(f'frame size must be positive, got '
                             f'{width}x{height}')
        if scale <= 0:
            raise ValueError(f'scale must be > 0, got {scale}')
        if full_scale is not None and full_scale <= 0:
            raise ValueError(f'full_scale must be > 0 px/frame, got '
                             f'{full_scale}')
        self.width, self.height = int(width), int(height)
        self.scale = float(scale)
        self.full_scale = full_scale
        self.panel_size = (_even(width * scale), _even(height * scale))
        pw, ph = self.panel_size
        body = max(ph, self.LEGEND)
        self.size = (3 * self.PAD + 2 * pw + self.LEGEND,
                     self.HEADER + body + self.PAD)
        self._rows = _nearest(ph, self.height)
        self._cols = _nearest(pw, self.width)
        self._cell_rows = _nearest(ph, self.height, CELL)
        self._cell_cols = _nearest(pw, self.width, CELL)
        self._build_figure(font_size)

    # ------------------------------------------------------------ layout
    def _build_figure(self, font_size: float) -> None:
        """One figure whose images and texts :meth:`render` updates."""
        width, height = self.size
        pw, ph = self.panel_size
        pad, top = self.PAD, self.HEADER
        self._figure = Figure(figsize=(width / 100, height / 100), dpi=100,
                              facecolor='white')
        self._canvas = FigureCanvasAgg(self._figure)
        # figimage places raw pixels at (xo, yo) from the bottom-left corner.
        base = height - top - ph
        blank = np.zeros((ph, pw, 3), np.uint8)
        self._rgb = self._figure.figimage(blank, xo=pad, yo=base,
                                          origin='upper')
        motion_x = 2 * pad + pw
        frame = np.empty((ph + 2, pw + 2, 3), np.uint8)
        frame[:] = _RING_RGB  # a 1 px grey frame: white cells stay visible
        self._figure.figimage(frame, xo=motion_x - 1, yo=base - 1)
        self._motion = self._figure.figimage(blank, xo=motion_x, yo=base,
                                             origin='upper')
        legend_x = 3 * pad + 2 * pw
        wheel = colour_wheel(self.WHEEL)
        wheel_x = legend_x + (self.LEGEND - self.WHEEL) // 2
        self._figure.figimage(wheel, xo=wheel_x,
                              yo=height - top - self.WHEEL, origin='upper')

        def text(x: float, y: float, **kwargs):
            return self._figure.text(x / width, 1 - y / height,
                                     '', fontsize=font_size, **kwargs)

        self._title = text(pad, top / 2, ha='left', va='center')
        self._motion_title = text(motion_x, top / 2, ha='left', va='center')
        self._motion_title.set_text('motion (cells of 4x4 px)')
        centre_x = legend_x + self.LEGEND / 2
        line = font_size * 1.6
        self._scale_text = text(centre_x, top + self.WHEEL + 4, ha='center',
                                va='top', linespacing=1.3)
        key = text(centre_x, top + self.WHEEL + 4 + 2.4 * line,
                   ha='center', va='top', color='0.35', linespacing=1.3)
        key.set_text('white: still\nblack: no vector')
        self._note = text(motion_x + pw / 2, top + ph / 2, ha='center',
                          va='center', multialignment='center',
                          bbox=dict(boxstyle='round,pad=0.3',
                                    facecolor='white', edgecolor='0.5',
                                    alpha=0.9))

    # ------------------------------------------------------------ drawing
    def render(self, rgb: np.ndarray, motion: np.ndarray, mask: np.ndarray,
               pict_type: str = 'P', frame_index: Optional[int] = None,
               flag: Optional[str] = None) -> MotionPicture:
        """Draw one frame: RGB uint8 (H, W, 3), motion (2, h, w), mask (h, w).

        ``flag`` (e.g. 'B-pyramid') marks the frame's motion as approximate:
        the motion panel's title says 'motion: approximate (FLAG)' in red.
        Returns the picture with its full-colour speed and its note (set
        for I-frames and other frames without vectors).
        """
        rgb = np.asarray(rgb)
        if rgb.shape[:2] != (self.height, self.width):
            raise ValueError(f'frame is {rgb.shape[1]}x{rgb.shape[0]}, the '
                             f'renderer was made for {self.width}x'
                             f'{self.height}')
        mask = np.asarray(mask, bool)
        has_vectors = bool(mask.any())
        full = (self.full_scale if self.full_scale is not None
                else frame_full_scale(motion, mask))
        colours = flow_to_rgb(motion, mask, full or MIN_FULL_SCALE)
        self._rgb.set_data(rgb[self._rows][:, self._cols])
        self._motion.set_data(colours[self._cell_rows][:, self._cell_cols])
        where = '' if frame_index is None else f'frame {frame_index} '
        self._title.set_text(f'{where}({pict_type}-frame)')
        if flag:
            self._motion_title.set_text(f'motion: approximate ({flag})')
            self._motion_title.set_color('#c00000')
        else:
            self._motion_title.set_text('motion (cells of 4x4 px)')
            self._motion_title.set_color('black')
        self._scale_text.set_text(
            'full colour =\n' + (format_scale(full) if full
                                 else '(no vectors)'))
        note = None
        if not has_vectors:
            note = ('I-frame: no motion vectors' if pict_type == 'I'
                    else 'no motion vectors')
        self._note.set_text((note or '').replace(': ', ':\n'))
        self._note.set_visible(note is not None)
        self._canvas.draw()
        image = np.array(self._canvas.buffer_rgba())[..., :3]
        return MotionPicture(image=image, frame_index=frame_index,
                             pict_type=pict_type, full_scale=full,
                             has_vectors=has_vectors, note=note,
                             flag=flag or None)


def render_motion_picture(rgb: np.ndarray, motion: np.ndarray,
                          mask: np.ndarray, pict_type: str = 'P',
                          frame_index: Optional[int] = None,
                          scale: float = 1.0,
                          full_scale: Optional[float] = None
                          ) -> MotionPicture:
    """One side-by-side picture; see :class:`MotionPictureRenderer`."""
    renderer = MotionPictureRenderer(rgb.shape[1], rgb.shape[0], scale,
                                     full_scale)
    return renderer.render(rgb, motion, mask, pict_type, frame_index)


def default_scale(width: int, height: int, smallest: int = 320,
                  largest: int = 640) -> float:
    """Size factor bringing the frame's long side into [smallest, largest]."""
    longest = max(width, height)
    if longest < smallest:
        return smallest / longest
    if longest > largest:
        return largest / longest
    return 1.0
