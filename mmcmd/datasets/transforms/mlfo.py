"""The three clips of one MLFO sample: clip 1, clip 2 and the global clip."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
from mmaction.registry import TRANSFORMS

from .loading import CMDDecode
from .multi_view import MultiView, close_reader
from .sampling import mlfo_window

__all__ = ['MLFOViews', 'mlfo_window']


@TRANSFORMS.register_module()
class MLFOViews(MultiView):
    """Sample MLFO's window, decode it once, augment three clips apart.

    A :class:`MultiView` whose views are the clips of one window of
    ``2 * clip_len`` frames at a random rate r (see :func:`mlfo_window`)::

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

    view_names = ('clip 1', 'clip 2', 'global clip')

    def __init__(self, transforms: Sequence, clip_len: int = 16,
                 max_rate: float = 3.0,
                 keys: Sequence[str] = ('imgs', )) -> None:
        if clip_len < 2 or clip_len % 2:
            raise ValueError(f'MLFOViews: clip_len must be even and >= 2, '
                             f'got {clip_len}.')
        if max_rate < 1:
            raise ValueError(f'MLFOViews: max_rate must be >= 1, got '
                             f'{max_rate}.')
        super().__init__(transforms, num_views=3, keys=keys)
        self.clip_len = int(clip_len)
        self.max_rate = float(max_rate)
        self.decode = CMDDecode(close=False)

    def clip_indices(self, window: np.ndarray) -> Tuple[np.ndarray, ...]:
        """(clip 1, clip 2, global) frame indices of a window."""
        half = self.clip_len
        return window[:half], window[half:], window[::2]

    def view_inputs(self, results: dict) -> List[dict]:
        """Sample the window, decode it once (closing the video), and give
        each clip its frames in a shallow copy of ``results``."""
        try:
            window, rate = mlfo_window(int(results['total_frames']),
                                       self.clip_len, self.max_rate)
            frames = np.unique(window)
            decoded = self.decode(dict(results, frame_inds=frames))
        finally:
            close_reader(results)
        inputs = []
        for inds in self.clip_indices(window):
            view = dict(results, **{key: decoded[key] for key in (
                'original_shape', 'img_shape', 'motion_cell')})
            view.update(imgs=decoded['imgs'][np.searchsorted(frames, inds)],
                        frame_inds=inds, clip_len=self.clip_len,
                        frame_interval=rate, num_clips=1)
            inputs.append(view)
        return inputs

    def _repr_args(self) -> str:
        return f', clip_len={self.clip_len}, max_rate={self.max_rate}'
