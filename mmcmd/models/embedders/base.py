"""Small base of models that only embed videos (nothing to train)."""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmaction.structures import ActionDataSample

from ..selfsup.base import BaseClipModel
from ..utils import Inputs


class BaseEmbedder(BaseClipModel):
    """Data preprocessor -> clip ``backbone`` -> global average pool.

    The clip-model base of the self-supervisors (:class:`BaseClipModel`)
    without a neck: ``tensor`` mode returns the backbone outputs;
    ``predict`` mode stores each video's (C,) embedding (global average
    pool of the backbone's final map, averaged over the clips of the video,
    L2-normalised if ``normalize``) in its data sample as field
    ``embedding``. ``loss`` mode raises: an embedder has nothing to train.
    State-dict keys are ``backbone.*`` (and whatever persistent buffers the
    data preprocessor has), as for mmaction2's recognizers and mmcmd's
    self-supervisors, so their checkpoints load into an embedder.

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
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.normalize = normalize

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, [num_clips,] 3, T, H, W) clips -> (B, C) video embeddings."""
        emb = super().embed(clips)
        return F.normalize(emb, dim=-1) if self.normalize else emb

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
