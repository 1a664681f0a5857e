"""Several independently augmented views of one video, for contrastive
learning between clips (e.g. :class:`mmcmd.models.selfsup.RGBContrast`)."""
from __future__ import annotations

import copy
from typing import List, Sequence

import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform, Compose


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Run the view pipeline ``num_views`` times on one opened video.

    ``transforms`` is the pipeline of ONE view, from frame sampling to
    packing (it must end with a packing transform such as
    :class:`PackCMDInputs`). Every random transform draws anew per view, so
    the views differ in time (sampling), crop, flip and colour. Each view
    starts from a shallow copy of ``results``: the open ``video_reader`` of
    :class:`CompressedVideoInit` is shared (decode with
    ``CMDDecode(close=False)``) and closed once all views are done.

    Output: ``inputs`` is a dict holding, for each of ``keys``, the views'
    tensors stacked on a new dim 0 (``imgs``: uint8 (V, 3, T, H, W));
    ``data_samples`` is the first view's.

    Required Keys:

        - what the view pipeline requires (typically video_reader,
          total_frames)

    Added Keys:

        - inputs
        - data_samples

    Modified Keys:

        - video_reader (None once closed; the output dict holds only the
          two added keys)

    Args:
        transforms: configs (or objects) of one view's transforms.
        num_views: number of views, at least 2.
        keys: packed input keys to keep and stack.
    """

    def __init__(self, transforms: Sequence, num_views: int = 2,
                 keys: Sequence[str] = ('imgs', )) -> None:
        if num_views < 2:
            raise ValueError(f'MultiView needs num_views >= 2, got '
                             f'{num_views}; use the view pipeline alone '
                             'for one view.')
        self.num_views = int(num_views)
        self.keys = tuple(keys)
        self.pipeline = Compose([TRANSFORMS.build(copy.deepcopy(t))
                                 if isinstance(t, dict) else t
                                 for t in transforms])

    def transform(self, results: dict) -> dict:
        """Build every view, close the video, stack the packed inputs."""
        views: List[dict] = []
        try:
            for _ in range(self.num_views):
                view = self.pipeline(dict(results))
                if view is None:
                    raise ValueError('MultiView: a view transform returned '
                                     'None (a filtering transform in the '
                                     'view pipeline?).')
                packed = view.get('inputs')
                if not isinstance(packed, dict) or not set(
                        self.keys) <= set(packed):
                    got = (sorted(packed) if isinstance(packed, dict)
                           else packed)
                    raise ValueError(
                        'MultiView: the view pipeline must end with a '
                        "packing transform giving dict 'inputs' with keys "
                        f'{list(self.keys)} (e.g. PackCMDInputs); got '
                        f'{got!r}.')
                views.append(view)
        finally:
            reader = results.get('video_reader')
            if reader is not None:
                reader.close()
                results['video_reader'] = None
        inputs = {key: torch.stack([v['inputs'][key] for v in views])
                  for key in self.keys}
        return dict(inputs=inputs, data_samples=views[0]['data_samples'])

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_views={self.num_views}, '
                f'keys={self.keys}, pipeline={self.pipeline})')
