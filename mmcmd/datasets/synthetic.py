"""Synthetic scene-bias videos: the motion is the class, the scene is a trap.

Every video shows one procedurally textured object moving over a
procedurally textured scene. The object's motion pattern is the action class
(:data:`CLASSES`); the scene type (:data:`SCENES`) is the class's "own" scene
in most training videos, so a model can score well by recognising the scene
instead of the motion. ``test_swapped`` draws scenes independently of the
class and exposes that shortcut. Pure numpy + PyAV; files are real H.264
streams with B-frames (or MPEG-4 Part 2), so codec motion vectors carry the
class.

A documented public generator of the library, like scikit-learn's
``make_*`` data sets: :func:`generate_dataset` writes a whole benchmark
(``tools/data/synthetic/generate.py`` is its command line, docs/synthetic.md
its description). Videos are encoded by
:func:`mmcmd.codec.encode.write_frames`.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_all_start_methods, get_context
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np

from ..codec.encode import write_frames

CLASSES: Tuple[str, ...] = (
    'move_right', 'move_left', 'move_down', 'move_up', 'move_down_right',
    'move_up_right', 'circle_clockwise', 'circle_counterclockwise',
    'oscillate_horizontal', 'oscillate_vertical')
SCENES: Tuple[str, ...] = (
    'wood_stripes', 'sky_diagonals', 'lawn_checkers', 'violet_blobs',
    'ocean_gradient', 'polka_dots', 'sand_rings', 'neon_waves', 'brick_wall',
    'grass_streaks')
SPLITS: Tuple[str, ...] = ('train', 'test_same', 'test_swapped')
#: unit direction (dx, dy) of the translation classes, y pointing down.
TRANSLATIONS: Dict[int, Tuple[float, float]] = {
    0: (1.0, 0.0), 1: (-1.0, 0.0), 2: (0.0, 1.0), 3: (0.0, -1.0),
    4: (0.5 ** 0.5, 0.5 ** 0.5), 5: (0.5 ** 0.5, -0.5 ** 0.5)}
SPEED_RANGE = (2.0, 4.0)  # mean object speed, pixels per frame
#: The benchmark's calibrated difficulty (docs/scene_bias.md, calibration):
#: chosen with the two supervised references of
#: tools/analysis/synthetic_learnability.py only, at the demo's clip encoder
#: and ``iterations`` SGD steps of batch 16. The object size and scene
#: contrast are also the generator's defaults.
CALIBRATED = dict(num_train_per_class=120, iterations=600,
                  object_size=(0.35, 0.45), scene_contrast=0.5)
# Object side as a share of the shorter frame side (calibrated).
OBJECT_SIZE_RANGE: Tuple[float, float] = CALIBRATED['object_size']
PAN_RANGE = (0.5, 1.0)  # background pan speed with camera motion, px/frame
# Colour stops (RGB) of each scene type, mapped from a texture field in [0, 1].
_PALETTES = np.array([
    [(92, 46, 20), (176, 98, 42), (226, 160, 92)],
    [(20, 60, 140), (90, 150, 220), (235, 240, 250)],
    [(40, 110, 30), (120, 170, 50), (210, 220, 90)],
    [(60, 20, 80), (150, 60, 160), (240, 150, 210)],
    [(10, 30, 70), (20, 110, 130), (120, 210, 200)],
    [(245, 235, 200), (220, 120, 90), (170, 20, 30)],
    [(130, 110, 40), (200, 180, 90), (250, 235, 160)],
    [(30, 220, 230), (120, 40, 200), (250, 40, 170)],
    [(90, 25, 20), (165, 55, 40), (200, 200, 195)],
    [(10, 60, 15), (50, 130, 40), (140, 200, 80)]], np.float32)


@dataclass
class VideoParams:
    """Everything that determines one video's pixels (lengths in pixels)."""

    class_id: int
    scene_id: int
    width: int
    height: int
    num_frames: int
    object_size: int  # side of the square object, px
    object_seed: int  # seeds the object's texture
    speed: float  # mean object speed, px/frame
    centre_x: float  # object centre at frame 0 (translations) or pivot, px
    centre_y: float
    radius: float  # circle radius or oscillation amplitude, px
    period: float  # circle / oscillation period, frames
    phase: float  # circle / oscillation phase at frame 0, radians
    scene_seed: int  # seeds the scene instance (offsets, scale, palette)
    pan_x: float  # background motion, px/frame (0 for a still camera)
    pan_y: float
    scene_contrast: float = 1.0  # texture contrast (0: the flat mid colour)


def sample_params(class_id: int, scene_id: int, rng: np.random.Generator,
                  size: Tuple[int, int] = (112, 112), num_frames: int = 48,
                  camera_motion: bool = False,
                  scene_contrast: float = 1.0) -> VideoParams:
    """Draw one video's random parameters; ``size`` is (width, height) px.

    ``scene_contrast`` scales the scene texture around its mean colour (1:
    the benchmark's scenes); it draws nothing from ``rng``.
    """
    width, height = size
    side = min(width, height)
    obj = max(16, int(round(rng.uniform(*OBJECT_SIZE_RANGE) * side)))
    speed = float(rng.uniform(*SPEED_RANGE))
    radius, period, phase = 0.0, 0.0, float(rng.uniform(0, 2 * np.pi))
    if class_id in TRANSLATIONS:
        # A line at a random offset from the frame centre, perpendicular to
        # the motion; the object starts anywhere on its chord.
        dx, dy = TRANSLATIONS[class_id]
        across = height if dx else width  # extent across an axis motion
        reach = across / 2 - obj / 2 if dx * dy == 0 else 0.25 * side
        offset = rng.uniform(-reach, reach)
        cx, cy = width / 2 - dy * offset, height / 2 + dx * offset
        low, high = _chord(width, height, obj, (cx, cy), (dx, dy))
        along = rng.uniform(low, high)
        cx, cy = cx + dx * along, cy + dy * along
    elif CLASSES[class_id].startswith('circle'):
        radius = float(rng.uniform(0.18, 0.28) * side)
        period = 2 * np.pi * radius / speed
        cx, cy = _pivot(rng, width, height, radius + obj / 2, radius + obj / 2)
    else:
        period = float(rng.uniform(12.0, 20.0))
        radius = speed * period / 4  # amplitude giving mean speed `speed`
        horizontal = CLASSES[class_id] == 'oscillate_horizontal'
        cx, cy = _pivot(rng, width, height,
                        (radius if horizontal else 0) + obj / 2,
                        (0 if horizontal else radius) + obj / 2)
    pan_x = pan_y = 0.0
    if camera_motion:
        angle, pan = rng.uniform(0, 2 * np.pi), rng.uniform(*PAN_RANGE)
        pan_x, pan_y = pan * np.cos(angle), pan * np.sin(angle)
    return VideoParams(
        class_id=int(class_id), scene_id=int(scene_id), width=int(width),
        height=int(height), num_frames=int(num_frames), object_size=obj,
        object_seed=int(rng.integers(2 ** 31)), speed=speed,
        centre_x=float(cx), centre_y=float(cy), radius=float(radius),
        period=float(period), phase=phase,
        scene_seed=int(rng.integers(2 ** 31)), pan_x=float(pan_x),
        pan_y=float(pan_y), scene_contrast=float(scene_contrast))


def _pivot(rng: np.random.Generator, width: int, height: int,
           reach_x: float, reach_y: float) -> Tuple[float, float]:
    """Random pivot that keeps an object ``reach`` px around it in frame."""
    cx = rng.uniform(min(reach_x, width / 2), max(width - reach_x, width / 2))
    cy = rng.uniform(min(reach_y, height / 2),
                     max(height - reach_y, height / 2))
    return float(cx), float(cy)


def object_path(params: VideoParams, times: np.ndarray) -> np.ndarray:
    """Object centre (N, 2) as (x, y) px at ``times`` (frames), unwrapped."""
    t = np.asarray(times, np.float64)
    p = params
    if p.class_id in TRANSLATIONS:
        dx, dy = TRANSLATIONS[p.class_id]
        return np.stack([p.centre_x + p.speed * dx * t,
                         p.centre_y + p.speed * dy * t], axis=-1)
    angle = p.phase + 2 * np.pi * t / p.period
    if CLASSES[p.class_id].startswith('circle'):
        # y points down, so an increasing angle turns clockwise on screen.
        sign = 1.0 if CLASSES[p.class_id] == 'circle_clockwise' else -1.0
        return np.stack([p.centre_x + p.radius * np.cos(sign * angle),
                         p.centre_y + p.radius * np.sin(sign * angle)], -1)
    offset = p.radius * np.sin(angle)
    zero = np.zeros_like(t)
    horizontal = CLASSES[p.class_id] == 'oscillate_horizontal'
    return np.stack([p.centre_x + (offset if horizontal else zero),
                     p.centre_y + (zero if horizontal else offset)], -1)


def object_boxes(params: VideoParams) -> np.ndarray:
    """Object box per frame, float (T, 4) as x0, y0, x1, y1 in pixels.

    Translating objects wrap around: once wholly out of the frame they come
    back on the opposite side along the same line, so a box may lie partly
    outside the frame.
    """
    centres = object_path(params, np.arange(params.num_frames))
    half = params.object_size / 2
    if params.class_id in TRANSLATIONS:
        direction = np.array(TRANSLATIONS[params.class_id])
        low, high = _chord(params.width, params.height, params.object_size,
                           (params.centre_x, params.centre_y), direction)
        along = (centres - [params.centre_x, params.centre_y]) @ direction
        wrapped = low + np.mod(along - low, high - low)
        centres = centres + (wrapped - along)[:, None] * direction
    return np.concatenate([centres - half, centres + half], axis=1)


def _chord(width: int, height: int, size: int, point: Tuple[float, float],
           direction: Sequence[float]) -> Tuple[float, float]:
    """Signed distances (px) from ``point`` along ``direction`` at which an
    object of side ``size`` centred on the line just leaves the frame."""
    half = size / 2
    low, high = -np.inf, np.inf
    for pos, step, extent in zip(point, direction, (width, height)):
        if step:
            a, b = (-half - pos) / step, (extent + half - pos) / step
            low, high = max(low, min(a, b)), min(high, max(a, b))
    return float(low), float(high)


def ideal_motion(params: VideoParams, t: int) -> Tuple[float, float]:
    """Object motion (dx, dy) px from frame t - 1 to frame t, on screen."""
    a, b = object_path(params, np.array([t - 1, t]))
    return float(b[0] - a[0]), float(b[1] - a[1])


def object_texture(params: VideoParams) -> np.ndarray:
    """Object colours, float32 (S, S, 3) in [0, 255]: a mosaic, dark edge."""
    rng = np.random.default_rng(params.object_seed)
    side = params.object_size
    cell = int(rng.integers(3, 6))
    cells = -(-side // cell)
    hue = rng.random((cells, cells))
    sat = rng.uniform(0.6, 1.0, (cells, cells))
    val = rng.uniform(0.35, 1.0, (cells, cells))
    rgb = _hsv_to_rgb(hue, sat, val) * 255.0
    rgb = np.repeat(np.repeat(rgb, cell, 0), cell, 1)[:side, :side]
    rgb[:2], rgb[-2:], rgb[:, :2], rgb[:, -2:] = 20, 20, 20, 20
    return rgb.astype(np.float32)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """HSV in [0, 1] to RGB in [0, 1], shape (..., 3)."""
    k = np.mod(np.array([5.0, 3.0, 1.0]) + h[..., None] * 6, 6)
    return v[..., None] - v[..., None] * s[..., None] * np.clip(
        np.minimum(k, 4 - k), 0, 1)


def _value_noise(xs: np.ndarray, ys: np.ndarray, lattice: np.ndarray,
                 cell_x: float, cell_y: float) -> np.ndarray:
    """Smooth tiling noise in [0, 1] at positions ``xs``, ``ys`` (pixels)."""
    u, v = xs / cell_x, ys / cell_y
    x0, y0 = np.floor(u), np.floor(v)
    fx, fy = u - x0, v - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    n = lattice.shape[0]
    x0, y0 = x0.astype(np.int64) % n, y0.astype(np.int64) % n
    x1, y1 = (x0 + 1) % n, (y0 + 1) % n
    top = lattice[y0, x0] * (1 - fx) + lattice[y0, x1] * fx
    bottom = lattice[y1, x0] * (1 - fx) + lattice[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def scene_image(params: VideoParams, t: float = 0) -> np.ndarray:
    """Background of frame ``t``, float32 (H, W, 3) in [0, 255]."""
    ys, xs = np.mgrid[0:params.height, 0:params.width].astype(np.float64)
    return _scene(params, xs - params.pan_x * t, ys - params.pan_y * t)


def _panned_scenes(params: VideoParams) -> Iterator[np.ndarray]:
    """Background of every frame under a pan: one canvas, shifted crops."""
    t = np.arange(params.num_frames)
    shift_x, shift_y = -params.pan_x * t, -params.pan_y * t
    x_lo, y_lo = int(np.floor(shift_x.min())), int(np.floor(shift_y.min()))
    x_hi, y_hi = int(np.ceil(shift_x.max())), int(np.ceil(shift_y.max()))
    ys, xs = np.mgrid[y_lo:params.height + y_hi + 1,
                      x_lo:params.width + x_hi + 1].astype(np.float64)
    canvas = _scene(params, xs, ys)
    h, w = params.height, params.width
    for sx, sy in zip(shift_x - x_lo, shift_y - y_lo):
        ix, iy = int(np.floor(sx)), int(np.floor(sy))
        fx, fy = sx - ix, sy - iy  # bilinear weights, equal for all pixels
        crop = canvas[iy:iy + h + 1, ix:ix + w + 1]
        top = crop[:-1, :-1] * (1 - fx) + crop[:-1, 1:] * fx
        bottom = crop[1:, :-1] * (1 - fx) + crop[1:, 1:] * fx
        yield (top * (1 - fy) + bottom * fy).astype(np.float32)


def _scene(params: VideoParams, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Scene colours at view positions ``xs``, ``ys`` (px), float32 RGB."""
    rng = np.random.default_rng(params.scene_seed)
    scene = params.scene_id
    origin_x, origin_y = rng.uniform(0, 1000, 2)  # scene px at view (0, 0)
    xs, ys = xs + origin_x, ys + origin_y
    angle = (0.0, np.pi / 4, 0.3, 0.0, 0.0, 0.5, 0.0, 0.4, 0.0, 0.0)[scene]
    angle += rng.uniform(-0.12, 0.12)
    u = xs * np.cos(angle) + ys * np.sin(angle)
    v = -xs * np.sin(angle) + ys * np.cos(angle)
    period = rng.uniform(9.0, 15.0)
    lattice = rng.random((64, 64))
    fine = _value_noise(xs, ys, lattice, 3.0, 3.0) - 0.5
    if scene in (0, 1):  # stripes: soft square wave
        field = 0.5 + 0.5 * np.tanh(3 * np.sin(2 * np.pi * u / period))
        field = 0.85 * field + 0.3 * fine
    elif scene == 2:  # checkers
        field = (np.floor(u / period) + np.floor(v / period)) % 2
        field = 0.15 + 0.7 * field + 0.25 * fine
    elif scene == 3:  # large smooth blobs
        field = 0.7 * _value_noise(xs, ys, lattice, 2 * period, 2 * period)
        field = field + 0.3 * _value_noise(ys, xs, lattice, period / 2,
                                           period / 2)
    elif scene == 4:  # long gradient (a triangle wave) with light grain
        ramp = np.abs(np.mod(u / (2 * params.width), 1.0) * 2 - 1)
        field = 0.1 + 0.8 * ramp + 0.35 * fine
    elif scene == 5:  # polka dots
        du = np.mod(u, period) - period / 2
        dv = np.mod(v, period) - period / 2
        dist = np.sqrt(du * du + dv * dv)
        field = 1 / (1 + np.exp(2.0 * (dist - 0.3 * period))) + 0.2 * fine
    elif scene == 6:  # concentric rings around an off-centre point
        cx, cy = rng.uniform(-1, 1, 2) * params.width
        dist = np.hypot(xs - origin_x - params.width / 2 - cx,
                        ys - origin_y - params.height / 2 - cy)
        field = 0.5 + 0.45 * np.sin(2 * np.pi * dist / period) + 0.2 * fine
    elif scene == 7:  # crossing waves
        field = 0.5 + 0.25 * (np.sin(2 * np.pi * u / period)
                              + np.sin(2 * np.pi * v / (1.6 * period)))
    elif scene == 8:  # bricks with mortar
        row = np.floor(v / period)
        col = np.floor(u / (2 * period) + 0.5 * (row % 2))
        brick = lattice[row.astype(np.int64) % 64, col.astype(np.int64) % 64]
        mortar = ((np.mod(v, period) < 2)
                  | (np.mod(u + period * (row % 2), 2 * period) < 2))
        field = np.where(mortar, 1.0, 0.1 + 0.4 * brick) + 0.15 * fine
    else:  # grass: tall thin streaks
        field = _value_noise(xs, ys, lattice, 1.5, 10.0) * 0.8 + 0.4 * fine
    palette = _PALETTES[scene] + rng.uniform(-12, 12, (3, 3))
    if params.scene_contrast != 1.0:
        field = 0.5 + params.scene_contrast * (field - 0.5)
    pos = np.clip(field, 0, 1) * (len(palette) - 1)
    low = np.minimum(np.floor(pos).astype(np.int64), len(palette) - 2)
    frac = (pos - low)[..., None]
    rgb = palette[low] * (1 - frac) + palette[low + 1] * frac
    return np.clip(rgb, 0, 255).astype(np.float32)


def render_frames(params: VideoParams) -> np.ndarray:
    """Render the video described by ``params``: uint8 (T, H, W, 3) RGB."""
    texture = object_texture(params)
    boxes = object_boxes(params)
    if params.pan_x == 0 and params.pan_y == 0:
        still = scene_image(params)
        backgrounds = (still.copy() for _ in range(params.num_frames))
    else:
        backgrounds = _panned_scenes(params)
    frames = np.empty((params.num_frames, params.height, params.width, 3),
                      np.uint8)
    for t, frame in enumerate(backgrounds):
        _paste(frame, texture, boxes[t, 0], boxes[t, 1])
        frames[t] = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    return frames


def _paste(frame: np.ndarray, texture: np.ndarray, left: float,
           top: float) -> None:
    """Draw opaque ``texture`` (S, S, 3) at sub-pixel (left, top), blending
    the partly covered edge pixels."""
    h, w = frame.shape[:2]
    th, tw = texture.shape[:2]
    x0, y0 = max(int(np.floor(left)), 0), max(int(np.floor(top)), 0)
    x1, y1 = min(int(np.ceil(left + tw)), w), min(int(np.ceil(top + th)), h)
    if x1 <= x0 or y1 <= y0:
        return
    rgba = np.concatenate([texture, np.ones_like(texture[..., :1])], -1)
    pad = np.pad(rgba, ((1, 1), (1, 1), (0, 0)))  # transparent outside
    u = np.arange(x0, x1) - left + 1  # padded texture coordinates, > 0
    v = np.arange(y0, y1) - top + 1
    ui, vi = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = (u - ui)[None, :, None], (v - vi)[:, None, None]
    top_row = pad[vi][:, ui] * (1 - fu) + pad[vi][:, ui + 1] * fu
    bottom = pad[vi + 1][:, ui] * (1 - fu) + pad[vi + 1][:, ui + 1] * fu
    rgba = top_row * (1 - fv) + bottom * fv
    region = frame[y0:y1, x0:x1]
    region *= 1 - rgba[..., 3:]
    region += rgba[..., :3]


def render_video(class_id: int, scene_id: int, rng: np.random.Generator,
                 size: Tuple[int, int] = (112, 112), num_frames: int = 48,
                 camera_motion: bool = False,
                 scene_contrast: float = 1.0) -> np.ndarray:
    """Draw parameters from ``rng`` and render: uint8 (T, H, W, 3) RGB."""
    return render_frames(sample_params(class_id, scene_id, rng, size,
                                       num_frames, camera_motion,
                                       scene_contrast))


def assign_scenes(num_per_class: int, split: str, rng: np.random.Generator,
                  own_scene_prob: float = 0.85,
                  num_classes: int = len(CLASSES)) -> np.ndarray:
    """Scene id per video, int (num_classes * num_per_class,), class-major.

    ``train`` / ``test_same``: own_scene_prob * n (rounded half up) videos
    of each class get the class's own scene, the rest the other scenes in
    balanced random order. ``test_swapped``: every scene equally often per
    class (up to one), so the scene is independent of the class.
    """
    if split not in SPLITS:
        raise ValueError(f'unknown split {split!r}; choose from {SPLITS}')
    if not 0.0 <= own_scene_prob <= 1.0:
        raise ValueError(f'own_scene_prob must be in [0, 1], got '
                         f'{own_scene_prob}')
    scenes = []
    for c in range(num_classes):
        if split == 'test_swapped':
            own, pool = 0, np.arange(len(SCENES))
        else:
            own = int(np.floor(own_scene_prob * num_per_class + 0.5))
            pool = np.array([s for s in range(len(SCENES)) if s != c])
        others = np.concatenate(
            [rng.permutation(pool)
             for _ in range(-(-(num_per_class - own) // len(pool)))] or [[]])
        row = np.concatenate([np.full(own, c), others[:num_per_class - own]])
        scenes.append(rng.permutation(row.astype(np.int64)))
    return np.concatenate(scenes)


#: encoder settings per codec: GOP 16 frames, one reference frame. H.264
#: gets 2 B-frames (fixed pattern, no B-pyramid); MPEG-4 Part 2 gets none, as
#: CMD's re-encoded data has, and because FFmpeg exports zero vectors for
#: MPEG-4 direct-mode B macroblocks.
CODECS: Dict[str, dict] = {
    'h264': dict(encoder='libx264', gop=16, bframes=2, options={
        'preset': 'medium', 'crf': '20', 'x264-params': (
            'keyint=16:min-keyint=16:scenecut=0:bframes=2:b-adapt=0'
            ':b-pyramid=none:ref=1:me=umh:merange=24:threads=1')}),
    'mpeg4': dict(encoder='mpeg4', gop=16, bframes=0, options={
        'g': '16', 'bf': '0', 'qscale': '4', 'flags': '+qscale+mv4',
        'me_range': '24', 'threads': '1'}),
}


def encoder_settings(codec: str) -> dict:
    """Encoder name, GOP (frames), B-frames and FFmpeg options of ``codec``."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose from "
                         f"{sorted(CODECS)}")
    return CODECS[codec]


def write_video(path: str, frames: np.ndarray, codec: str = 'h264',
                fps: int = 25) -> None:
    """Encode RGB uint8 (T, H, W, 3) frames to an MP4 file at ``path`` with
    the encoder settings of ``codec`` (:data:`CODECS`), through
    :func:`mmcmd.codec.encode.write_frames`; the file appears when
    complete."""
    settings = encoder_settings(codec)
    write_frames(path, frames, codec=settings['encoder'], fps=fps,
                 gop=settings['gop'], bframes=settings['bframes'],
                 options=settings['options'])


def _make_video(job: Tuple[str, dict]) -> dict:
    """Render and encode one video described by ``job``; return its record."""
    out_dir, record = job
    key = record['rng_key']
    params = sample_params(record['label'], record['scene'],
                           np.random.default_rng(key), record['size'],
                           record['num_frames'], record['camera_motion'],
                           record.get('scene_contrast', 1.0))
    path = os.path.join(out_dir, record['path'])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_video(path, render_frames(params), record['codec'], record['fps'])
    return dict(record, params=asdict(params))


def _check_size(size: Sequence[int], num_frames: int) -> Tuple[int, int]:
    """Validate (width, height) and frame count; return the size as ints."""
    width, height = (int(s) for s in size)
    if width % 2 or height % 2 or min(width, height) < 32:
        raise ValueError(f'size must be even and at least 32x32 (yuv420p, '
                         f'room for the object), got {width}x{height}')
    if num_frames < 2:
        raise ValueError(f'num_frames must be at least 2, got {num_frames}')
    return width, height


def _jobs(out_dir: str, seed: int, split: str, num_per_class: int,
          own_scene_prob: float, common: dict) -> Iterator[Tuple[str, dict]]:
    """One job per video of ``split``: its path, class, scene and rng key."""
    split_id = SPLITS.index(split)
    scenes = assign_scenes(num_per_class, split,
                           np.random.default_rng([seed, split_id, 0]),
                           own_scene_prob)
    for index, scene in enumerate(scenes.tolist()):
        label = index // num_per_class
        path = f'videos/{split}/{CLASSES[label]}/{split}_{index:05d}.mp4'
        yield out_dir, dict(
            path=path, split=split, index=index, label=label,
            class_name=CLASSES[label], scene=scene, scene_name=SCENES[scene],
            own_scene=scene == label, rng_key=[seed, split_id, 1, index],
            **common)


def generate_dataset(out_dir: str, seed: int = 0,
                     num_train_per_class: int = CALIBRATED[
                         'num_train_per_class'],
                     num_test_per_class: int = 10,
                     size: Tuple[int, int] = (112, 112), num_frames: int = 48,
                     codec: str = 'h264', camera_motion: bool = False,
                     own_scene_prob: float = 0.85, workers: int = 1,
                     progress: bool = True, fps: int = 25,
                     scene_contrast: float = CALIBRATED['scene_contrast']
                     ) -> dict:
    """Write the three splits, their annotation lists and meta.json.

    ``scene_contrast`` scales the texture of every scene around its mean
    colour (default: the calibrated benchmark, :data:`CALIBRATED`; 1: the
    full texture; 0: one flat colour per scene instance, still telling the
    scene types apart by palette). The train size default is calibrated
    too; the object size is :data:`OBJECT_SIZE_RANGE`.

    Returns the meta dict written to ``out_dir/meta.json``.

    Layout: ``out_dir/{train,test_same,test_swapped}.txt`` (mmaction2
    VideoDataset lines ``videos/<split>/<class>/<name>.mp4 <label>``, paths
    relative to ``out_dir``), ``out_dir/videos/...`` and ``out_dir/meta.json``.
    The same arguments give byte-identical annotations and meta and identical
    decoded frames, whatever ``workers`` is.
    """
    width, height = _check_size(size, num_frames)
    if seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed}')
    if num_train_per_class < 1 or num_test_per_class < 0:
        raise ValueError(
            f'need at least 1 train and 0 test videos per class, got '
            f'{num_train_per_class} and {num_test_per_class}')
    settings = encoder_settings(codec)
    common = dict(size=[width, height], num_frames=int(num_frames),
                  fps=int(fps), codec=codec, camera_motion=bool(camera_motion),
                  scene_contrast=float(scene_contrast))
    counts = {'train': num_train_per_class, 'test_same': num_test_per_class,
              'test_swapped': num_test_per_class}
    jobs = [job for split in SPLITS for job in _jobs(
        out_dir, seed, split, counts[split], own_scene_prob, common)]
    os.makedirs(out_dir, exist_ok=True)
    records = _run(jobs, workers, progress)
    for split in SPLITS:
        lines = [f"{r['path']} {r['label']}\n" for r in records
                 if r['split'] == split]
        with open(os.path.join(out_dir, f'{split}.txt'), 'w') as f:
            f.writelines(lines)
    meta = dict(
        seed=int(seed), classes=list(CLASSES), scenes=list(SCENES),
        own_scene={c: SCENES[i] for i, c in enumerate(CLASSES)},
        own_scene_prob=float(own_scene_prob), encoder=settings['encoder'],
        encoder_options=settings['options'], gop=settings['gop'],
        bframes=settings['bframes'],
        splits={s: dict(annotation=f'{s}.txt', num_per_class=counts[s])
                for s in SPLITS},
        **common, videos=records)
    with open(os.path.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    return meta


def _run(jobs: List[Tuple[str, dict]], workers: int,
         progress: bool) -> List[dict]:
    """Make every video, in parallel when ``workers`` > 1; keep job order."""
    from tqdm import tqdm
    bar = tqdm(total=len(jobs), unit='video', disable=not progress)
    records = []
    if workers <= 1:
        for job in jobs:
            records.append(_make_video(job))
            bar.update()
    else:
        methods = get_all_start_methods()
        context = get_context('fork' if 'fork' in methods else None)
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for record in pool.map(_make_video, jobs, chunksize=4):
                records.append(record)
                bar.update()
    bar.close()
    return records


def load_meta(out_dir: str) -> dict:
    """Read ``out_dir/meta.json``, each video's 'params' as VideoParams."""
    path = os.path.join(out_dir, 'meta.json')
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'{path} not found; generate the data set first with '
            f'tools/data/synthetic/generate.py --out {out_dir}')
    with open(path) as f:
        meta = json.load(f)
    for record in meta['videos']:
        record['params'] = VideoParams(**record['params'])
    return meta
