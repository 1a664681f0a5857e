"""DSM views: anchor, scene-broken positive, motion-broken negative.

``DSMSampleFrames`` picks the anchor clip and the clip the negative is made
from (both decoded by one :class:`CMDDecode` call), ``DSMViews`` turns
them into three independently augmented views: the positive gets the
Spatial Local Disturbance (:class:`SpatialLocalDisturbance`: local warps,
the same on every frame, so the scene changes and the motion does not),
the negative the Temporal Local Disturbance
(:class:`TemporalLocalDisturbance`: frame insertions and swaps, so the
scene stays and the motion breaks). All of it runs on uint8 (T, H, W, 3)
clips before normalisation, with array indexing (no per-pixel loops).
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from .multi_view import MultiView
from .sampling import clip_offsets, clip_span, sample_start, start_candidates

#: view order in ``inputs['imgs']`` (dim 1 of a batch)
DSM_VIEWS = ('anchor', 'positive', 'negative')


def _random(seed: Optional[int]) -> Any:
    """numpy's global generator (seeded per worker by mmengine), or a fresh
    ``RandomState(seed)`` (the same draws on every call)."""
    return np.random if seed is None else np.random.RandomState(seed)


# --------------------------------------------------------------- sampling
@TRANSFORMS.register_module()
class DSMSampleFrames(BaseTransform):
    """Indices of the anchor clip and of the clip the negative comes from.

    ``frame_inds`` holds two clips of ``clip_len`` frames
    ``frame_interval`` apart (as mmaction2's ``SampleFrames`` with
    ``num_clips=2``): clip 0 is the anchor (the positive uses the same
    indices), clip 1 the source of the negative. The anchor starts
    uniformly where the clip fits (videos shorter than the clip loop).

    ``negative='same'`` (default): clip 1 repeats the anchor's indices, so
    the negative differs from the anchor only by what the negative view
    pipeline does to it (:class:`TemporalLocalDisturbance`: the paper's
    "scene untouched, motion broken"). ``negative='intra_video'``: clip 1
    is another clip of the same video whose start is at least ``min_gap``
    frames from the anchor's (the released code's negative; 2 frames for
    UCF101/HMDB51, 4 for Kinetics), drawn uniformly among such starts; if
    none fits, it starts ``max(min_gap, N // 3)`` frames later, looping.

    Required Keys:

        - total_frames

    Added Keys:

        - frame_inds: int64 (2 * clip_len,), anchor then negative source
        - clip_len
        - frame_interval
        - num_clips (2)

    Modified Keys:

        - none

    Args:
        clip_len: frames per clip.
        frame_interval: distance between sampled frames (frames).
        negative: ``'same'`` or ``'intra_video'`` (see above).
        min_gap: smallest distance between the anchor's and the negative's
            start (frames), for ``negative='intra_video'``.
    """

    def __init__(self, clip_len: int = 16, frame_interval: int = 4,
                 negative: str = 'same', min_gap: int = 2) -> None:
        if negative not in ('same', 'intra_video'):
            raise ValueError(f"DSMSampleFrames: negative must be 'same' or "
                             f"'intra_video', got {negative!r}")
        if clip_len < 1 or frame_interval < 1 or min_gap < 1:
            raise ValueError('DSMSampleFrames: clip_len, frame_interval and '
                             'min_gap must be >= 1')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.negative = negative
        self.min_gap = min_gap

    @property
    def span(self) -> int:
        """Frames from the first to the last frame of one clip (the length
        a video needs not to loop; ``CMDVideoDataset`` reads it)."""
        return clip_span(self.clip_len, self.frame_interval)

    def starts(self, num_frames: int) -> Tuple[int, int]:
        """(anchor start, negative start) in frames."""
        anchor = sample_start(num_frames, self.span)
        if self.negative == 'same':
            return anchor, anchor
        candidates = start_candidates(num_frames, self.span)
        valid = candidates[np.abs(candidates - anchor) >= self.min_gap]
        if valid.size:
            return anchor, int(np.random.choice(valid))
        return anchor, (anchor + max(self.min_gap, num_frames // 3))

    def transform(self, results: dict) -> dict:
        """Write the two clips' indices into ``results``."""
        num_frames = int(results['total_frames'])
        offsets = clip_offsets(self.clip_len, self.frame_interval)
        anchor, negative = self.starts(num_frames)
        inds = np.concatenate([anchor + offsets, negative + offsets])
        results['frame_inds'] = (inds % num_frames).astype(np.int64)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = 2
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, negative='
                f'{self.negative!r}, min_gap={self.min_gap})')


# ------------------------------------------------ spatial local disturbance
#: ``rounding`` values of :func:`local_warp_map`
WARP_ROUNDINGS = ('truncate', 'floor')


def local_warp_map(height: int, width: int, centres: np.ndarray,
                   shifts: np.ndarray, rounding: str = 'truncate'
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Source rows and columns (int64 (H, W) each) of a chain of local warps.

    Warp k (centre ``c = centres[k]``, shift ``d = shifts[k]``, (x, y) in
    pixels) moves the pixels of the window ``[c - 3d, c + 3d)``: pixel p
    reads ``p - h d`` with ``h = 0.5 / (3 (|p - (c + d)| / |d|)^4 + 1)``,
    clamped to the frame; pixels outside the window stay. Warps apply one
    after the other (warp 1 first), so the result is
    ``image[rows, cols]``.

    ``rounding='truncate'`` (default, the released code's
    ``x + int(-h * d)``, src/augment/basic_augmentation/spatial_wrap.py:
    124-128): the offset is truncated toward zero, so a pixel moves
    ``floor(h |d|)`` pixels and the window's rim, where ``h |d| < 1``,
    stays put (for d = (15, 15) 2,085 of the 8,100 window pixels move).
    ``rounding='floor'``: ``floor(p - h d)``, every window pixel moves by
    at least one (an earlier rule of this code; it leaves a one-pixel seam
    at the window's edge).
    """
    if rounding not in WARP_ROUNDINGS:
        raise ValueError(f'local_warp_map: rounding must be one of '
                         f'{WARP_ROUNDINGS}, got {rounding!r}')
    ys, xs = np.mgrid[0:height, 0:width]
    rows, cols = ys.copy(), xs.copy()
    for (cx, cy), (dx, dy) in zip(np.asarray(centres, np.float64),
                                  np.asarray(shifts, np.float64)):
        norm = np.hypot(dx, dy)
        inside = ((xs >= cx - 3 * abs(dx)) & (xs < cx + 3 * abs(dx)) &
                  (ys >= cy - 3 * abs(dy)) & (ys < cy + 3 * abs(dy)))
        dist = np.hypot(xs - (cx + dx), ys - (cy + dy)) / max(norm, 1e-12)
        h = 0.5 / (3 * dist ** 4 + 1)
        if rounding == 'truncate':
            src_x, src_y = xs + np.trunc(-h * dx), ys + np.trunc(-h * dy)
        else:
            src_x, src_y = np.floor(xs - h * dx), np.floor(ys - h * dy)
        src_x = np.clip(src_x, 0, width - 1).astype(np.int64)
        src_y = np.clip(src_y, 0, height - 1).astype(np.int64)
        src_x = np.where(inside, src_x, xs)
        src_y = np.where(inside, src_y, ys)
        # this warp reads the image the previous warps made
        rows, cols = rows[src_y, src_x], cols[src_y, src_x]
    return rows, cols


@TRANSFORMS.register_module()
class SpatialLocalDisturbance(BaseTransform):
    """Break the scene, keep the motion: the same local warps on every frame.

    Draws 1 to 3 (``num_warps``) local warps (:func:`local_warp_map`) with
    integer centres in ``[centre_range)`` and integer shifts in
    ``[shift_range)`` pixels of a ``reference_size`` frame (the released
    code's values for 224 x 224: centres [60, 140), shifts [10, 20), always
    positive), scaled to the clip's size, and remaps every frame with the
    one map: appearance changes, frame-to-frame motion does not. uint8
    stays uint8 (pixels are moved, never blended).

    Per clip by default. The released code draws one warp per batch and
    applies it to the normalised anchor on the GPU; ``seed`` gives every
    clip the same warp (the draws of a generator seeded with ``seed``),
    the closest a per-sample transform gets to that shared draw.

    Required Keys:

        - imgs: uint8 (T, H, W, C)

    Added Keys:

        - none

    Modified Keys:

        - imgs (the ``keys`` present): same shape and dtype

    Args:
        num_warps: (min, max) number of warps, both included.
        centre_range: [low, high) of the warp centres' x and y (pixels at
            ``reference_size``).
        shift_range: [low, high) of the shifts' x and y (pixels at
            ``reference_size``).
        reference_size: (height, width) the ranges refer to.
        seed: None: a new draw per clip; an int: the same warp for all.
        keys: results keys holding (T, H, W, C) clips to warp.
        rounding: ``'truncate'`` (default, the released code's: a pixel
            moves ``floor(h |d|)``) or ``'floor'`` (every window pixel
            moves at least one), see :func:`local_warp_map`.
    """

    def __init__(self, num_warps: Sequence[int] = (1, 3),
                 centre_range: Sequence[int] = (60, 140),
                 shift_range: Sequence[int] = (10, 20),
                 reference_size: Sequence[int] = (224, 224),
                 seed: Optional[int] = None,
                 keys: Sequence[str] = ('imgs', ),
                 rounding: str = 'truncate') -> None:
        if rounding not in WARP_ROUNDINGS:
            raise ValueError(f'SpatialLocalDisturbance: rounding must be one '
                             f'of {WARP_ROUNDINGS}, got {rounding!r}')
        if not 1 <= num_warps[0] <= num_warps[1]:
            raise ValueError(f'SpatialLocalDisturbance: num_warps must be '
                             f'(min >= 1, max >= min), got {num_warps}')
        self.num_warps = tuple(int(v) for v in num_warps)
        self.centre_range = tuple(int(v) for v in centre_range)
        self.shift_range = tuple(int(v) for v in shift_range)
        self.reference_size = tuple(int(v) for v in reference_size)
        self.seed = seed
        self.keys = tuple(keys)
        self.rounding = rounding

    def draw(self, height: int, width: int
             ) -> Tuple[np.ndarray, np.ndarray]:
        """(centres, shifts): float (K, 2) (x, y) in pixels of the clip."""
        rng = _random(self.seed)
        count = int(rng.randint(self.num_warps[0], self.num_warps[1] + 1))
        centres = rng.randint(*self.centre_range, size=(count, 2))
        shifts = rng.randint(*self.shift_range, size=(count, 2))
        scale = np.array([width / self.reference_size[1],
                          height / self.reference_size[0]])
        return centres * scale, shifts * scale

    def transform(self, results: dict) -> dict:
        """Warp every frame of each key with one drawn map."""
        for key in self.keys:
            if key not in results:
                continue
            clip = np.asarray(results[key])
            rows, cols = local_warp_map(clip.shape[1], clip.shape[2],
                                        *self.draw(*clip.shape[1:3]),
                                        rounding=self.rounding)
            results[key] = clip[:, rows, cols]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_warps={self.num_warps}, '
                f'centre_range={self.centre_range}, shift_range='
                f'{self.shift_range}, reference_size={self.reference_size}, '
                f'seed={self.seed}, keys={self.keys}, '
                f'rounding={self.rounding!r})')


# ----------------------------------------------- temporal local disturbance
def disturbed_order(num_frames: int, insert_rounds: int = 2,
                    swap_rounds: int = 2, ops_ratio: float = 0.1,
                    rng: Any = np.random) -> np.ndarray:
    """Source frame (int64 (T,)) of each output frame after the insertions
    and swaps of :class:`TemporalLocalDisturbance` (``rng``: ``np.random``
    or a ``RandomState``); never the identity when ``num_frames > 1`` and
    some operation is asked for."""
    order = np.arange(num_frames)
    ops = max(1, int(ops_ratio * num_frames))
    if num_frames < 2 or insert_rounds + swap_rounds == 0:
        return order
    for _ in range(100):  # redraw the rare draws that change nothing
        order = np.arange(num_frames)
        for _ in range(insert_rounds * ops):
            at, source = rng.randint(0, num_frames, size=2)
            order = np.concatenate([order[:at], order[source:source + 1],
                                    order[at:-1]])
        for _ in range(swap_rounds * ops):
            a, b = rng.choice(num_frames, size=2, replace=False)
            order[[a, b]] = order[[b, a]]
        if not np.array_equal(order, np.arange(num_frames)):
            break
    return order


@TRANSFORMS.register_module()
class TemporalLocalDisturbance(BaseTransform):
    """Keep the scene, break the motion: insert and swap frames.

    With ``n = max(1, int(ops_ratio * T))``, ``insert_rounds * n`` frame
    insertions (a copy of a random frame goes to a random position, the
    frames after it move one step later and the last frame drops out),
    then ``swap_rounds * n`` swaps of two random distinct positions. T
    stays; a draw that leaves the order unchanged is redrawn. For T = 16:
    2 insertions and 2 swaps, the operations of the released code's
    (unused) ``VideoEda`` negative, drawn per clip instead of per batch,
    and swapping frames where that code, assigning tensor views, copies one
    frame over the other.

    Required Keys:

        - imgs: (T, H, W, C)
        - frame_inds (optional: reordered along when it has T entries)

    Added Keys:

        - tld_order: int64 (T,), the source frame of each output frame

    Modified Keys:

        - imgs (the ``keys`` present): frames reordered, shape kept
        - frame_inds (when it has T entries)

    Args:
        insert_rounds: rounds of frame insertion.
        swap_rounds: rounds of frame swapping.
        ops_ratio: operations per round as a fraction of T (at least 1).
        keys: results keys holding (T, ...) clips to reorder.
    """

    def __init__(self, insert_rounds: int = 2, swap_rounds: int = 2,
                 ops_ratio: float = 0.1,
                 keys: Sequence[str] = ('imgs', )) -> None:
        if insert_rounds < 0 or swap_rounds < 0:
            raise ValueError('TemporalLocalDisturbance: rounds must be >= 0')
        self.insert_rounds = insert_rounds
        self.swap_rounds = swap_rounds
        self.ops_ratio = ops_ratio
        self.keys = tuple(keys)

    def transform(self, results: dict) -> dict:
        """Reorder the frames of each key with one drawn order."""
        present = [k for k in self.keys if k in results]
        if not present:
            return results
        num_frames = len(results[present[0]])
        order = disturbed_order(num_frames, self.insert_rounds,
                                self.swap_rounds, self.ops_ratio)
        for key in present:
            results[key] = np.asarray(results[key])[order]
        inds = results.get('frame_inds')
        if inds is not None and len(inds) == num_frames:
            results['frame_inds'] = np.asarray(inds)[order]
        results['tld_order'] = order.astype(np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(insert_rounds='
                f'{self.insert_rounds}, swap_rounds={self.swap_rounds}, '
                f'ops_ratio={self.ops_ratio}, keys={self.keys})')


# ------------------------------------------------------------------ views
@TRANSFORMS.register_module()
class DSMViews(MultiView):
    """Anchor, positive and negative views of one decoded DSM sample.

    A :class:`MultiView` whose views start from the two decoded clips:
    splits the decoded ``imgs`` (2 * clip_len frames of
    :class:`DSMSampleFrames`) into the anchor clip and the negative's
    source clip, then builds three views, each from its own shallow copy of
    ``results`` and its own random draws: ``transforms`` (the shared view
    augmentation, e.g. crop and colour), the view's own transforms, and
    ``pack``::

        anchor   = pack(anchor_transforms(transforms(clip 0)))
        positive = pack(positive_transforms(transforms(clip 0)))  # SLD
        negative = pack(negative_transforms(transforms(clip 1)))  # TLD

    Output: ``inputs`` is a dict holding, for each of ``keys``, the views
    stacked on a new dim 0 in the order anchor, positive, negative
    (``imgs``: uint8 (3, 3, T, H, W)); ``data_samples`` is the anchor's.

    Required Keys:

        - imgs: (2 * clip_len, H, W, 3)
        - clip_len
        - frame_inds (optional: split along with the frames)
        - what ``transforms`` and ``pack`` require (typically img_shape)

    Added Keys:

        - inputs
        - data_samples

    Modified Keys:

        - video_reader (closed and None if still open; the output dict
          holds only the two added keys)

    Args:
        transforms: configs (or objects) of the augmentation every view
            gets (drawn anew per view), from decoded frames to the uint8
            clip before packing.
        anchor_transforms: extra transforms of the anchor view.
        positive_transforms: extra transforms of the positive view, by
            default ``[dict(type='SpatialLocalDisturbance')]``.
        negative_transforms: extra transforms of the negative view, by
            default ``[dict(type='TemporalLocalDisturbance')]``.
        pack: the packing transform of every view (must give a dict
            ``inputs`` with ``keys``).
        keys: packed input keys to keep and stack.
    """

    view_names = DSM_VIEWS

    def __init__(self, transforms: Sequence = (),
                 anchor_transforms: Sequence = (),
                 positive_transforms: Sequence = (
                     dict(type='SpatialLocalDisturbance'), ),
                 negative_transforms: Sequence = (
                     dict(type='TemporalLocalDisturbance'), ),
                 pack: dict = dict(type='PackCMDInputs'),
                 keys: Sequence[str] = ('imgs', )) -> None:
        super().__init__(transforms, keys=keys, pack=pack, view_transforms=(
            anchor_transforms, positive_transforms, negative_transforms))

    def view_inputs(self, results: dict) -> List[dict]:
        """Clip 0 for the anchor and the positive, clip 1 for the
        negative, each in its own shallow copy of ``results``."""
        clip_len = int(results['clip_len'])
        imgs = np.asarray(results['imgs'])
        if len(imgs) != 2 * clip_len:
            raise ValueError(
                f'DSMViews: expects 2 x clip_len = {2 * clip_len} decoded '
                f'frames (anchor, then the negative source: DSMSampleFrames '
                f'then CMDDecode), got {len(imgs)}.')
        inds = results.get('frame_inds')
        inputs = []
        for clip in (0, 0, 1):
            part = slice(clip * clip_len, (clip + 1) * clip_len)
            data = dict(results, imgs=imgs[part].copy(), num_clips=1)
            if inds is not None and len(inds) == 2 * clip_len:
                data['frame_inds'] = np.asarray(inds)[part]
            inputs.append(data)
        return inputs
