"""Codec motion vectors -> dense motion fields on a grid of 4x4-pixel cells.

The field follows the project's motion contract: channel 0 = x, 1 = y, in
pixels of the original frame, forward-in-time motion of the content, divided
by the display-order distance (frames) to the reference anchor in each
direction; bi-predicted cells average both directions. Cells no vector
covers (intra blocks, I-frames) are 0 with mask False.

:func:`motion_fields` paints many frames in one set of array operations
(the per-call overhead of numpy dominates for one frame's few hundred
vectors); :func:`motion_field` is the one-frame form.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

#: side length of one motion cell in pixels.
CELL = 4

Distances = Union[float, Sequence[float], np.ndarray]

#: FFmpeg's AVMotionVector as numpy sees it (what PyAV's
#: ``MotionVectors.to_ndarray()`` returns); ``bytes(side_data)`` of a
#: frame's MOTION_VECTORS is an array of these.
MOTION_VECTOR_DTYPE = np.dtype(
    {'names': ['source', 'w', 'h', 'src_x', 'src_y', 'dst_x', 'dst_y',
               'flags', 'motion_x', 'motion_y', 'motion_scale'],
     'formats': ['<i4', 'u1', 'u1', '<i2', '<i2', '<i2', '<i2', '<u8',
                 '<i4', '<i4', '<u2'],
     'offsets': [0, 4, 5, 6, 8, 10, 12, 16, 24, 28, 32], 'itemsize': 40},
    align=True)

#: one frame's vectors: a structured array, their raw bytes, or None.
FrameVectors = Union[np.ndarray, bytes, None]

#: values of ``precision``: ``'exact'`` takes ``motion / scale`` (quarter-
#: or half-pixel vectors as coded); ``'reference'`` takes the whole-pixel
#: ``src - dst`` FFmpeg exports, ``motion / scale`` truncated toward zero
#: (C integer division), which is what the CMD reference's coviar loader
#: reads (a half-pel vector becomes 0).
MOTION_PRECISIONS = ('exact', 'reference')


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`MOTION_PRECISIONS`."""
    if precision not in MOTION_PRECISIONS:
        raise ValueError(f'motion precision must be one of '
                         f'{MOTION_PRECISIONS}, got {precision!r}')
    return precision


def coded_displacement(mv: np.ndarray, precision: str = 'exact'
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-vector ``src - dst`` (x, y) in pixels, float64 arrays.

    ``'exact'``: ``motion / motion_scale``. ``'reference'``: the same
    quotient truncated toward zero, as FFmpeg computes the exported
    ``src_x = dst_x + motion_x / motion_scale`` in integer arithmetic.
    """
    check_precision(precision)
    scale = mv['motion_scale'].astype(np.int64)
    shifts = []
    for name in ('motion_x', 'motion_y'):
        motion = mv[name].astype(np.int64)
        if precision == 'exact':
            shifts.append(motion / scale)
        else:
            shifts.append((np.sign(motion) * (np.abs(motion) // scale))
                          .astype(np.float64))
    return shifts[0], shifts[1]


def cell_grid_shape(height: int, width: int) -> Tuple[int, int]:
    """(rows, cols) of the 4x4-pixel cells covering a frame (pixels)."""
    return -(-int(height) // CELL), -(-int(width) // CELL)


def empty_fields(count: int, height: int, width: int
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Zero fields float32 (count, 2, rows, cols), False masks (count, ...)."""
    rows, cols = cell_grid_shape(height, width)
    return (np.zeros((count, 2, rows, cols), np.float32),
            np.zeros((count, rows, cols), bool))


def block_motion(mv: np.ndarray, past_distance: Distances = 1.0,
                 future_distance: Distances = 1.0, precision: str = 'exact'
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-vector content motion (vx, vy) in px per frame, float64 arrays.

    A vector predicted from the past (``source`` < 0) moves content by
    dst - src = -motion / scale over ``past_distance`` frames; one predicted
    from the future moves it by src - dst = motion / scale over
    ``future_distance`` frames. Distances may be per vector. ``precision``:
    see :func:`coded_displacement`.
    """
    past = mv['source'] < 0
    factor = np.where(past, -1.0 / np.asarray(past_distance, np.float64),
                      1.0 / np.asarray(future_distance, np.float64))
    shift_x, shift_y = coded_displacement(mv, precision)
    return shift_x * factor, shift_y * factor


def _num_vectors(vectors: FrameVectors) -> int:
    if vectors is None:
        return 0
    if isinstance(vectors, bytes):
        return len(vectors) // MOTION_VECTOR_DTYPE.itemsize
    return vectors.shape[0]


def _concatenate(present: Sequence[FrameVectors]) -> np.ndarray:
    """Join frames' vectors as raw records (numpy's own path is slow)."""
    if all(isinstance(v, bytes) for v in present):
        return np.frombuffer(b''.join(present), MOTION_VECTOR_DTYPE)
    arrays = [np.frombuffer(v, MOTION_VECTOR_DTYPE) if isinstance(v, bytes)
              else v for v in present]
    if len(arrays) == 1:
        return arrays[0]
    dtype = arrays[0].dtype
    raw = np.dtype((np.void, dtype.itemsize))
    return np.concatenate([v.view(raw) for v in arrays]).view(dtype)


#: per (w >> 4) + 2 * (h >> 4) class of an 8-lattice block (8x8, 16x8,
#: 8x16, 16x16): the column and row steps of its four 8x8-unit slots, and
#: which slots are real.
_SLOT_RIGHT = np.array([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0],
                        [0, 1, 0, 1]], np.intp)
_SLOT_DOWN = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]],
                      np.intp)
_SLOT_UNUSED = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1],
                         [0, 0, 0, 0]], np.intp)

#: frames painted per batch: large enough to amortise numpy's per-call
#: cost, small enough to stay in cache.
_BATCH_FRAMES = 32


def motion_fields(vectors: Sequence[FrameVectors], height: int,
                  width: int, past_distance: Distances = 1.0,
                  future_distance: Distances = 1.0, precision: str = 'exact'
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Fields float32 (F, 2, ceil(H/4), ceil(W/4)) px/frame, masks (F, ...).

    ``vectors`` holds one structured ``MOTION_VECTORS`` array (fields source,
    w, h, dst_x, dst_y, motion_x, motion_y, motion_scale), its raw bytes
    (``bytes(side_data)``, the cheapest copy to keep) or None per frame;
    distances (frames to the previous / next anchor) are scalars or one per
    frame, 1 and 1 giving raw vectors. A block of w x h pixels centred on
    (dst_x, dst_y) fills every cell it covers; cells covered by several
    vectors (bi-prediction) get their mean. ``precision``: ``'exact'``
    (sub-pixel, as coded) or ``'reference'`` (whole pixels, truncated
    toward zero as in FFmpeg's exported ``src``; see
    :func:`coded_displacement`), applied per vector before the distances.
    """
    check_precision(precision)
    frames = len(vectors)
    rows, cols = cell_grid_shape(height, width)
    # Uninitialised: every chunk writes all its cells (malloc'd memory is
    # reused between calls, where calloc'd zeros would fault in fresh pages).
    field = np.empty((frames, 2, rows, cols), np.float32)
    mask = np.empty((frames, rows, cols), bool)
    pasts = np.broadcast_to(np.asarray(past_distance, np.float64), (frames,))
    futures = np.broadcast_to(np.asarray(future_distance, np.float64),
                              (frames,))
    for start in range(0, frames, _BATCH_FRAMES):
        chunk = slice(start, start + _BATCH_FRAMES)
        _paint(vectors[chunk], height, width, pasts[chunk], futures[chunk],
               field[chunk], mask[chunk], precision)
    return field, mask


def _paint(vectors: Sequence[FrameVectors], height: int, width: int,
           past_distance: np.ndarray, future_distance: np.ndarray,
           field: np.ndarray, mask: np.ndarray,
           precision: str = 'exact') -> None:
    """Paint a few frames' vectors into ``field`` and ``mask`` (all cells)."""
    frames = len(vectors)
    rows, cols = cell_grid_shape(height, width)
    lengths = [_num_vectors(v) for v in vectors]
    present = [v for v, n in zip(vectors, lengths) if n]
    if not present:
        field[...] = 0
        mask[...] = False
        return
    mv = _concatenate(present)
    frame_of = np.repeat(np.arange(frames), lengths)
    w = mv['w'].astype(np.int32)
    h = mv['h'].astype(np.int32)
    x0 = mv['dst_x'] - (w >> 1)
    y0 = mv['dst_y'] - (h >> 1)
    right = int((x0 + w).max())
    bottom = int((y0 + h).max())
    # Decoders export 16x16, 16x8, 8x16 and 8x8 partitions on an 8-pixel
    # lattice: paint 8x8 units, then repeat them 2x2 into cells.
    lattice = (not ((x0 | y0 | w | h) & 7).any() and int(w.max()) <= 16
               and int(h.max()) <= 16 and int(min(x0.min(), y0.min())) >= 0)
    unit = 2 * CELL if lattice else CELL
    grid_w = -(-max(int(width), right) // unit)
    grid_h = -(-max(int(height), bottom) // unit)
    size = grid_h * grid_w
    total = frames * size
    if lattice:
        flat, slots = _lattice_entries(frame_of, x0, y0, w, h, grid_w, size,
                                       total)
    else:
        flat, slots = _generic_entries(frame_of, x0, y0, w, h, unit, grid_w,
                                       size, total)
    # Per frame and direction: -1 / past distance, +1 / future distance.
    per_frame = np.stack([-1.0 / past_distance, 1.0 / future_distance], 1)
    factor = per_frame.reshape(-1).take(2 * frame_of + (mv['source'] > 0))
    if precision == 'exact':
        factor /= mv['motion_scale']
        shift_x, shift_y = mv['motion_x'], mv['motion_y']
    else:
        shift_x, shift_y = coded_displacement(mv, precision)
    # Unused slots point at bin ``total`` and are dropped after counting.
    count = np.bincount(flat, minlength=total + 1)[:total]
    sum_x = np.bincount(flat, np.repeat(shift_x * factor, slots),
                        total + 1)[:total]
    sum_y = np.bincount(flat, np.repeat(shift_y * factor, slots),
                        total + 1)[:total]
    inverse = 1.0 / np.maximum(count, 1)
    units = np.empty((frames, 2, grid_h, grid_w), np.float32)
    np.multiply(sum_x.reshape(frames, grid_h, grid_w), inverse.reshape(
        frames, grid_h, grid_w), out=units[:, 0], casting='same_kind')
    np.multiply(sum_y.reshape(frames, grid_h, grid_w), inverse.reshape(
        frames, grid_h, grid_w), out=units[:, 1], casting='same_kind')
    _expand(units, field, unit // CELL)
    _expand(count.reshape(frames, grid_h, grid_w) > 0, mask, unit // CELL)


def _expand(units: np.ndarray, out: np.ndarray, factor: int) -> None:
    """Write (..., h, w) units into (..., rows, cols) cells, factor 1 or 2.

    Each unit covers ``factor`` x ``factor`` cells; units past the frame's
    cells are dropped.
    """
    rows, cols = out.shape[-2:]
    if factor == 1:
        out[...] = units[..., :rows, :cols]
        return
    wide = _twice(units)[..., :cols]
    half = rows // 2
    row_step = out.strides[-2]
    pairs = np.lib.stride_tricks.as_strided(
        out, out.shape[:-2] + (half, 2, cols),
        out.strides[:-2] + (2 * row_step, row_step, out.strides[-1]))
    pairs[...] = wide[..., :half, None, :]
    if rows % 2:  # the last, unpaired row of cells
        out[..., -1, :] = wide[..., half, :]


def _twice(units: np.ndarray) -> np.ndarray:
    """Every element of the last axis twice in a row (float32 or bool).

    Done on the bits: each value is widened to an integer of twice its size
    holding it in both halves, which numpy does in long vector loops where
    ``repeat(2, -1)`` copies element by element (several times slower).
    """
    narrow, wide = {4: (np.uint32, np.uint64), 1: (np.uint8, np.uint16)}[
        units.dtype.itemsize]
    bits = np.ascontiguousarray(units).view(narrow).astype(wide)
    bits |= bits << (8 * units.dtype.itemsize)
    return bits.view(units.dtype)


def _lattice_entries(frame_of, x0, y0, w, h, grid_w, size, total):
    """Flat unit indices (4 slots per block) for 8-lattice partitions."""
    kind = (w >> 4) + 2 * (h >> 4)
    # Unused slots step past the last bin and are clipped onto bin ``total``.
    steps = _SLOT_RIGHT + _SLOT_DOWN * grid_w + _SLOT_UNUSED * total
    base = frame_of * size + (y0 >> 3) * grid_w + (x0 >> 3)
    flat = steps.take(kind, axis=0)
    flat += base[:, None]
    np.minimum(flat, total, out=flat)
    return flat.reshape(-1), 4


def _generic_entries(frame_of, x0, y0, w, h, unit, grid_w, size, total):
    """Flat unit indices (side x side slots per block) for any partitions."""
    cut_x, cut_y = np.maximum(-x0, 0), np.maximum(-y0, 0)
    x0, y0, w, h = x0 + cut_x, y0 + cut_y, w - cut_x, h - cut_y
    units_x = np.maximum(-(-w // unit), 0)
    units_y = np.maximum(-(-h // unit), 0)
    side = max(int(units_x.max()), int(units_y.max()), 1)
    offsets = np.arange(side)
    base = frame_of * size + (y0 // unit) * grid_w + x0 // unit
    flat = (base[:, None, None] + offsets[None, :, None] * grid_w
            + offsets[None, None, :])
    used = ((offsets[None, :, None] < units_y[:, None, None])
            & (offsets[None, None, :] < units_x[:, None, None]))
    flat[~used] = total
    return flat.reshape(-1), side * side


def motion_field(mv: Optional[np.ndarray], height: int, width: int,
                 past_distance: float = 1.0, future_distance: float = 1.0,
                 precision: str = 'exact'
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Dense field float32 (2, ceil(H/4), ceil(W/4)) px/frame and bool mask.

    ``mv`` is one frame's structured ``MOTION_VECTORS`` array or None; see
    :func:`motion_fields` for the painting rules.
    """
    field, mask = motion_fields([mv], height, width, past_distance,
                                future_distance, precision)
    return field[0], mask[0]
