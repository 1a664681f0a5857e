"""A clip backbone used as a video feature extractor."""
from __future__ import annotations

from typing import Optional

from mmaction.registry import MODELS
from mmengine.logging import MMLogger

from ...utils.checkpoint import (
    fitting_keys,
    format_load_summary,
    load_summary,
    model_shapes,
    select_prefix,
)
from .base import BaseEmbedder


@MODELS.register_module()
class VideoEmbedder(BaseEmbedder):
    """Backbone + global average pool, averaged over the clips of a video.

    ``predict`` (and so ``test_step``) stores the (C,) embedding of each
    video in its data sample as field ``embedding``: what
    :class:`mmcmd.evaluation.VideoRetrievalMetric` reads and what
    :func:`mmcmd.apis.embed_video` returns. With the config's
    ``test_pipeline`` this is the one definition of a video's embedding
    (docs/embedding.md). Weights come from the checkpoint given to
    ``tools/test.py`` or :func:`mmcmd.apis.init_embedder`, or from the
    backbone's ``init_cfg`` (``dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')``). ``loss`` mode raises: nothing is trained.

    Args:
        backbone: config of any clip backbone (mmcmd or mmaction2).
        normalize: L2-normalise each embedding (ModelScope does not).
        data_preprocessor: stacks and normalises the clips; default
            ``CMDDataPreprocessor`` (ImageNet mean/std).
        init_cfg: mmengine init config of the whole model.
    """

    def __init__(self, backbone: dict, normalize: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, normalize=normalize,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint without backbone tensors would otherwise load as a
        # silent no-op (mmengine loads non-strictly) and embed with random
        # weights.
        select_prefix(state_dict, prefix + 'backbone.', 'the checkpoint',
                      hint='no weight would be loaded into VideoEmbedder. '
                      'Convert ModelScope or official checkpoints with '
                      'tools/convert/ first')
        # A training checkpoint (CMD, Recognizer3D) holds other modules too:
        # say in one line what is used instead of a list of every unexpected
        # key, and drop them (``state_dict`` is the loader's own copy).
        own = tuple(f'{prefix}{name}.' for name, _ in self.named_children())
        keys = [k for k in state_dict if k.startswith(prefix)]
        foreign = [k for k in keys if not k.startswith(own)]
        if foreign:
            # counted as loaded: the backbone's tensors present with their
            # shape, not every key that starts with 'backbone.'
            backbone = prefix + 'backbone.'
            fit = fitting_keys({k[len(backbone):]: state_dict[k] for k in keys
                                if k.startswith(backbone)},
                               model_shapes(self.backbone))
            summary = load_summary([k[len(prefix):] for k in keys],
                                   'backbone.', fit)
            MMLogger.get_current_instance().info(
                'VideoEmbedder: ' + format_load_summary(
                    summary, 'the checkpoint', target='its backbone'))
            for key in foreign:
                del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
