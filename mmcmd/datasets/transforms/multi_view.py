"""Several views of one sample, each through its own run of a pipeline.

:class:`MultiView` is the one views wrapper: it makes the views' input
dicts (:meth:`MultiView.view_inputs`), runs each through its pipeline with
its own random draws, checks that every view was packed, stacks the packed
inputs on a new dim 0 and closes the video. The self-supervisors' view
layouts are thin subclasses that only say where each view's frames come
from: :class:`mmcmd.datasets.transforms.DSMViews` (anchor, positive,
negative) and :class:`mmcmd.datasets.transforms.MLFOViews` (two clips and
the global clip of one window).
"""
from __future__ import annotations

import copy
from typing import List, Optional, Sequence, Tuple

import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform, Compose


def compose(transforms: Sequence) -> Compose:
    """``Compose`` of transform configs (built from copies) or objects."""
    return Compose([TRANSFORMS.build(copy.deepcopy(t))
                    if isinstance(t, dict) else t for t in transforms])


def close_reader(results: dict) -> None:
    """Close ``results['video_reader']`` if open and set it to None."""
    reader = results.get('video_reader')
    if reader is not None:
        reader.close()
        results['video_reader'] = None


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Run a view pipeline once per view on one sample; stack the views.

    ``transforms`` is the pipeline every view runs, from its input to
    packing; ``view_transforms`` (optional) adds each view's own transforms
    after it, and ``pack`` (optional) the packing transform after those.
    The packed result of every view must hold a dict ``inputs`` with
    ``keys`` (e.g. from :class:`PackCMDInputs`). Every random transform
    draws anew per view, views in order.

    By default each view starts from a shallow copy of ``results``, so the
    views differ in time (sampling), crop, flip and colour: the open
    ``video_reader`` of :class:`CompressedVideoInit` is shared (decode with
    ``CMDDecode(close=False)``) and closed once all views are done.
    Subclasses give each view its own input by overriding
    :meth:`view_inputs`.

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
        transforms: configs (or objects) of the transforms every view runs.
        num_views: number of views, at least 2 (default: the length of
            ``view_transforms``, else 2).
        keys: packed input keys to keep and stack.
        view_transforms: per view, configs (or objects) of the transforms
            only that view runs after ``transforms``; None: none.
        pack: config (or object) of the packing transform every view ends
            with; None: ``transforms`` (or ``view_transforms``) packs.
    """

    #: names of the views in error messages (default 'view 1', 'view 2', ...)
    view_names: Tuple[str, ...] = ()

    def __init__(self, transforms: Sequence = (),
                 num_views: Optional[int] = None,
                 keys: Sequence[str] = ('imgs', ),
                 view_transforms: Optional[Sequence[Sequence]] = None,
                 pack: Optional[dict] = None) -> None:
        if num_views is None:
            num_views = 2 if view_transforms is None else len(view_transforms)
        if view_transforms is not None and len(view_transforms) != num_views:
            raise ValueError(f'{type(self).__name__}: num_views={num_views} '
                             f'but {len(view_transforms)} view_transforms.')
        if num_views < 2:
            raise ValueError(f'{type(self).__name__} needs num_views >= 2, '
                             f'got {num_views}; use the view pipeline alone '
                             'for one view.')
        self.num_views = int(num_views)
        self.keys = tuple(keys)
        shared = list(transforms)
        tail = [] if pack is None else [pack]
        if view_transforms is None:
            self.pipelines = [compose(shared + tail)] * self.num_views
        else:
            self.pipelines = [compose(shared + list(extra) + tail)
                              for extra in view_transforms]

    def names(self) -> Tuple[str, ...]:
        """Names of the views, in order."""
        return self.view_names or tuple(
            f'view {i + 1}' for i in range(self.num_views))

    def view_inputs(self, results: dict) -> List[dict]:
        """The input dict of each view: a shallow copy of ``results``."""
        return [dict(results) for _ in range(self.num_views)]

    def run_view(self, name: str, pipeline: Compose, data: dict) -> dict:
        """One view through its pipeline; its packed results."""
        view = pipeline(data)
        owner = type(self).__name__
        if view is None:
            raise ValueError(f'{owner}: the {name} pipeline returned None (a '
                             'filtering transform in the view pipeline?).')
        packed = view.get('inputs')
        if not isinstance(packed, dict) or not set(self.keys) <= set(packed):
            got = sorted(packed) if isinstance(packed, dict) else packed
            raise ValueError(
                f'{owner}: the {name} pipeline must end with a packing '
                f"transform giving dict 'inputs' with keys {list(self.keys)} "
                f'(e.g. PackCMDInputs); got {got!r}.')
        return view

    def transform(self, results: dict) -> dict:
        """Build every view, close the video, stack the packed inputs."""
        try:
            views = [self.run_view(name, pipeline, data)
                     for name, pipeline, data in zip(
                         self.names(), self.pipelines,
                         self.view_inputs(results))]
        finally:
            close_reader(results)
        inputs = {key: torch.stack([v['inputs'][key] for v in views])
                  for key in self.keys}
        return dict(inputs=inputs, data_samples=views[0]['data_samples'])

    def _repr_args(self) -> str:
        """Subclasses' own settings for ``__repr__`` (', name=value' ...)."""
        return ''

    def __repr__(self) -> str:
        first = self.pipelines[0]
        if all(p is first for p in self.pipelines):
            pipelines = f'pipeline={first}'
        else:
            pipelines = 'pipelines=' + repr(dict(zip(self.names(),
                                                     self.pipelines)))
        return (f'{self.__class__.__name__}(num_views={self.num_views}, '
                f'keys={self.keys}{self._repr_args()}, {pipelines})')
