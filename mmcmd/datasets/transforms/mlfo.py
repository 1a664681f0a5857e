"""The three clips of one MLFO sample: clip 1, clip 2 and the global clip."""
from __future__ import annotations

import copy
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform, Compose

from .loading import CMDDecode


def mlfo_window(num_frames: int, clip_len: int = 16, max_rate: float = 3.0,
                rate: Optional[float] = None,
                start: Optional[float] = None
                ) -> Tuple[np.ndarray, float]:
    """Frame indices (2 * clip_len,) of an MLFO window and its rate.

    rate r ~ U[1, min(max_rate, N / (2 * clip_len))] (1 when the video is
    shorter than the window), start s ~ U[0, N - 2 * clip_len * r] (0 when
    negative); index i is round(s + r * i), clipped to N - 1. ``rate`` and
    ``start`` fix the draws.
    """
    window = 2 * clip_len
    if rate is None:
        high = max(min(max_rate, num_frames / window), 1.0)
        rate = float(np.random.uniform(1.0, high))
    if start is None:
        start = float(np.random.uniform(0, max(num_frames - window * rate,
                                               0)))
    inds = np.round(start + rate * np.arange(window)).astype(np.int64)
    return np.clip(inds, 0, num_frames - 1), rate


@TRANSFORMS.register_module()
class MLFOViews(BaseTransform):
    """Sample MLFO's window, decode it once, augment three clips apart.

    A window of ``2 * clip_len`` frames at a random rate r (see
    :func:`mlfo_window`) gives::

        window indices   w_0 ... w_{2L-1}        (L = clip_len)
        clip 1           w_0 ... w_{L-1}         rate r
        clip 2           w_L ... w_{2L-1}        the next L, rate r
        global clip      w_0, w_2, ..., w_{2L-2} both spans, rate 2r

    The first half of the global clip lines up in time with clip 1, its
    second half with clip 2. Each clip then runs ``transforms`` (the
    augmentation of ONE clip, from decoded frames to packing, e.g. crop,
    flip, colour, ``PackCMDInputs``) with its own random draws, as the
    views of :class:`MultiView` do. The video is decoded once and closed.

    Output: ``inputs`` holds each of ``keys`` stacked over the clips in the
    order (clip 1, clip 2, global): ``imgs`` uint8 (3, 3, L, H, W);
    ``data_samples`` is clip 1's.

    Required Keys:

        - video_reader
        - total_frames

    Added Keys:

        - inputs
        - data_samples

    Modified Keys:

        - video_reader (None once closed; the output dict holds only the
          two added keys)

    Args:
        transforms: configs (or objects) of one clip's augmentation.
        clip_len: frames per clip (16 in the reference; window 2x).
        max_rate: upper bound of the rate r, frames of the video per window
            step (3 in the reference).
        keys: packed input keys to keep and stack.
    """

    def __init__(self, transforms: Sequence, clip_len: int = 16,
                 max_rate: float = 3.0,
                 keys: Sequence[str] = ('imgs', )) -> None:
        if clip_len < 2 or clip_len % 2:
            raise ValueError(f'MLFOViews: clip_len must be even and >= 2, '
                             f'got {clip_len}.')
        if max_rate < 1:
            raise ValueError(f'MLFOViews: max_rate must be >= 1, got '
                             f'{max_rate}.')
        self.clip_len = int(clip_len)
        self.max_rate = float(max_rate)
        self.keys = tuple(keys)
        self.decode = CMDDecode(close=False)
        self.pipeline = Compose([TRANSFORMS.build(copy.deepcopy(t))
                                 if isinstance(t, dict) else t
                                 for t in transforms])

    def clip_indices(self, window: np.ndarray) -> Tuple[np.ndarray, ...]:
        """(clip 1, clip 2, global) frame indices of a window."""
        half = self.clip_len
        return window[:half], window[half:], window[::2]

    def transform(self, results: dict) -> dict:
        """Sample, decode, augment and stack the three clips."""
        try:
            window, rate = mlfo_window(int(results['total_frames']),
                                       self.clip_len, self.max_rate)
            frames = np.unique(window)
            decoded = self.decode(dict(results, frame_inds=frames))
        finally:
            reader = results.get('video_reader')
            if reader is not None:
                reader.close()
                results['video_reader'] = None
        views = []
        for inds in self.clip_indices(window):
            view = dict(results, **{key: decoded[key] for key in (
                'original_shape', 'img_shape', 'motion_cell')})
            view.update(imgs=decoded['imgs'][np.searchsorted(frames, inds)],
                        frame_inds=inds, clip_len=self.clip_len,
                        frame_interval=rate, num_clips=1)
            view = self.pipeline(view)
            packed = None if view is None else view.get('inputs')
            if not isinstance(packed, dict) or not set(self.keys) <= set(
                    packed):
                raise ValueError(
                    'MLFOViews: the clip pipeline must end with a packing '
                    "transform giving dict 'inputs' with keys "
                    f'{list(self.keys)} (e.g. PackCMDInputs).')
            views.append(view)
        inputs = {key: torch.stack([v['inputs'][key] for v in views])
                  for key in self.keys}
        return dict(inputs=inputs, data_samples=views[0]['data_samples'])

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'max_rate={self.max_rate}, keys={self.keys}, '
                f'pipeline={self.pipeline})')
