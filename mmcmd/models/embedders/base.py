"""Small base of models that only embed videos (nothing to train)."""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmaction.structures import ActionDataSample
from mmengine.model import BaseModel

from ..selfsup.base import (
    Features,
    build_data_preprocessor,
    build_module,
    pooled_embedding,
)

Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]


class BaseEmbedder(BaseModel):
    """Data preprocessor -> clip ``backbone`` -> global average pool.

    ``tensor`` mode returns the backbone outputs; ``predict`` mode stores
    each video's (C,) embedding (global average pool of the backbone's
    final map, averaged over the clips of the video, L2-normalised if
    ``normalize``) in its data sample as field ``embedding``. ``loss`` mode
    raises: an embedder has nothing to train. State-dict keys are
    ``backbone.*`` (and whatever persistent buffers the data preprocessor
    has), as for mmaction2's recognizers and mmcmd's self-supervisors, so
    their checkpoints load into an embedder.

    Args:
        backbone: config of any clip backbone (mmcmd or mmaction2).
        normalize: L2-normalise each embedding.
        data_preprocessor: cfg or module that stacks and normalises the
            clips; ``CMDDataPreprocessor`` (ImageNet mean/std) if None.
        init_cfg: mmengine init config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 normalize: bool = False,
                 data_preprocessor: Optional[Union[dict, torch.nn.Module]]
                 = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone_cfg = copy.deepcopy(backbone)
        self.backbone = build_module(backbone)
        self.normalize = normalize

    @staticmethod
    def clips_of(inputs: Inputs) -> torch.Tensor:
        """The RGB clip tensor of a batch (a tensor, or ``inputs['imgs']``)."""
        return inputs['imgs'] if isinstance(inputs, dict) else inputs

    def extract_feat(self, clips: torch.Tensor) -> Features:
        """Backbone outputs for (B, 3, T, H, W) clips."""
        return self.backbone(clips)

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, [num_clips,] 3, T, H, W) clips -> (B, C) video embeddings."""
        emb = pooled_embedding(self.extract_feat, clips)
        return F.normalize(emb, dim=-1) if self.normalize else emb

    def forward(self, inputs: Inputs,
                data_samples: Optional[List[ActionDataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to ``predict`` / ``tensor`` (backbone outputs) /
        ``loss`` (an error)."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(self.clips_of(inputs))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        raise ValueError(f'{type(self).__name__}: unknown mode {mode!r}; use '
                         "'predict' or 'tensor'.")

    def loss(self, inputs: Inputs,
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """Always raises: an embedder has no training loss."""
        raise RuntimeError(
            f'{type(self).__name__} has no training loss: it only embeds '
            'videos. Use it with tools/test.py (retrieval config), '
            'tools/extract_embeddings.py or mmcmd.apis.embed_video; to '
            'train, use a self-supervisor (CMD, RGBContrast) or a '
            'Recognizer3D config.')

    def predict(self, inputs: Inputs,
                data_samples: Optional[List[ActionDataSample]] = None
                ) -> List[ActionDataSample]:
        """Data samples with field ``embedding`` (C,) set, one per video."""
        emb = self.embed(self.clips_of(inputs))
        if data_samples is None:
            data_samples = [ActionDataSample() for _ in range(emb.shape[0])]
        for sample, vector in zip(data_samples, emb):
            sample.set_field(vector, 'embedding')
        return data_samples
