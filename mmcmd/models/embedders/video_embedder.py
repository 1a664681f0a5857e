"""A clip backbone used as a video feature extractor."""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ..selfsup.base import BaseSelfSupervisor, Inputs


@MODELS.register_module()
class VideoEmbedder(BaseSelfSupervisor):
    """Backbone + global average pool, averaged over the clips of a video.

    ``predict`` (and so ``test_step``) stores the (C,) embedding of each
    video in its data sample as field ``embedding``: what
    :class:`mmcmd.evaluation.VideoRetrievalMetric` reads and what
    :func:`mmcmd.apis.embed_video` returns. With the config's
    ``test_pipeline`` this is the one definition of a video's embedding
    (docs/embedding.md). Weights come from the checkpoint given to
    ``tools/test.py`` or :func:`mmcmd.apis.init_embedder`, or from the
    backbone's ``init_cfg`` (``dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')``).

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
        super().__init__(backbone=backbone,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.normalize = normalize

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, [num_clips,] 3, T, H, W) clips -> (B, C) video embeddings."""
        emb = super().embed(clips)
        return F.normalize(emb, dim=-1) if self.normalize else emb

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint without backbone tensors would otherwise load as a
        # silent no-op (mmengine loads non-strictly) and embed with random
        # weights.
        if not any(k.startswith(prefix + 'backbone.') for k in state_dict):
            raise KeyError(
                f'VideoEmbedder: the checkpoint holds no "{prefix}backbone.*" '
                'tensors, so no weight would be loaded. Convert ModelScope or '
                'official checkpoints with tools/convert/ first.')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def loss(self, inputs: Inputs,
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        raise RuntimeError('VideoEmbedder has no training loss: use it with '
                           'tools/test.py (retrieval) or mmcmd.apis.')
