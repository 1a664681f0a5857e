"""Context matching: clip global feature vs keyframe feature, InfoNCE."""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule

from ..losses import build_loss
from ..necks.projection import ProjectionMLP


def require_channels(head: str, **channels: Optional[int]) -> None:
    """Raise a clear error when a channel count was left unset."""
    for name, value in channels.items():
        if value is None:
            raise ValueError(
                f'{head}: {name} is None. CMD fills it from its backbones; '
                f'when building the head alone, pass {name}=<int>.')


@MODELS.register_module()
class ContextMatchingHead(BaseModule):
    """Project the clip vector (query) and the keyframe vector (key) to
    ``out_channels``, L2-normalise, and contrast each clip with the keyframes
    of all videos in the gathered batch (its own keyframe is the positive).

    Args:
        in_channels: channels of the clip vector (mean of the fused map);
            CMD fills it from its backbones.
        keyframe_channels: channels of the pooled keyframe feature; CMD
            fills it from its backbones.
        hidden_channels: width of the projections' hidden layer.
        out_channels: dimension of the normalised embeddings contrasted.
        loss: loss cfg called as ``loss(query (B, D), keys (B, D))`` and
            returning ``(loss, accuracy)``; the default
            ``dict(type='GatheredInfoNCE', temperature=0.1, loss_weight=1.0)``
            gathers the keyframes of every rank. Its ``loss_weight`` scales
            ``loss_context``.
        init_cfg: mmengine init config; without one the projections get
            Kaiming fan_out weights.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 keyframe_channels: Optional[int] = None,
                 hidden_channels: int = 2048,
                 out_channels: int = 512,
                 loss: dict = dict(type='GatheredInfoNCE'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        require_channels(type(self).__name__, in_channels=in_channels,
                         keyframe_channels=keyframe_channels)
        self.query_proj = ProjectionMLP(in_channels, hidden_channels,
                                        out_channels)
        self.key_proj = ProjectionMLP(keyframe_channels, hidden_channels,
                                      out_channels)
        self.loss_module = build_loss(loss)

    def init_weights(self) -> None:
        """Kaiming fan_out projections (unless an init_cfg says otherwise)."""
        if self.init_cfg:
            return super().init_weights()
        self.query_proj.reset_parameters()
        self.key_proj.reset_parameters()
        self._is_init = True

    def forward(self, clip_vec: torch.Tensor,
                keyframe_vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, C) clip and (B, C_k) keyframe vectors -> normalised (B, D) pair."""
        return self.query_proj(clip_vec), self.key_proj(keyframe_vec)

    def loss(self, clip_vec: torch.Tensor,
             keyframe_vec: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss_context`` (weighted) and ``acc_context`` (top-1, 0..1)."""
        query, key = self(clip_vec, keyframe_vec)
        loss, acc = self.loss_module(query, key)
        return dict(loss_context=loss, acc_context=acc)
