"""Motion prediction: predict future motion features at every position."""
from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from ..losses import build_loss, info_nce
from ..necks.projection import ProjectionMLP
from .context_matching_head import require_channels
from .transformer import PredictionTransformer

#: values of ``still_cells``: how the motion loss treats keys of still cells.
STILL_CELL_MODES = ('keep', 'collapse', 'drop')


def map_to_tokens(feature_map: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) map -> (B, T*H*W, C) tokens in (t, y, x) order."""
    return feature_map.flatten(2).transpose(1, 2)


def still_cells(windows: torch.Tensor, grid: torch.Size,
                threshold: float) -> torch.Tensor:
    """Bool (N, t*h*w): cells of the key grid whose motion is still.

    ``windows`` (N, 2, T_m, H, W) motion as the model receives it; a cell
    covers its share of the window (T_m/t x H/h x W/w) and is still when its
    mean motion magnitude is at most ``threshold`` (same units as
    ``windows``).
    """
    magnitude = windows.float().norm(dim=1, keepdim=True)
    pooled = F.adaptive_avg_pool3d(magnitude, tuple(grid))
    return pooled.flatten(1) <= threshold


def still_key_groups(still: torch.Tensor, mode: str) -> Optional[torch.Tensor]:
    """``key_groups`` of ``GatheredInfoNCE`` for a ``still_cells`` mode:
    None (``'keep'``), one group of still keys (``'collapse'``) or still
    keys out of every softmax (``'drop'``)."""
    if mode == 'keep':
        return None
    return torch.where(still, 0 if mode == 'collapse' else -2, -1)


@MODELS.register_module()
class MotionPredictionHead(BaseModule):
    """Clip map -> linear -> transformer -> projection (queries), against
    motion-encoder tokens of the real future (keys), pointwise InfoNCE::

        clip map (B, C, T, H, W) -> S = T*H*W tokens -> fc (C -> D)
          -> encoder(+ source positions) -> decoder(zeros + target positions)
          -> P predicted tokens -> query_proj -> L2 norm
        motion map (B, C_m, t, h, w) -> P = t*h*w tokens -> key_proj -> L2 norm

    Positive of query (b, p) = key (b, p); negatives = all other positions and
    videos of all ranks, plus the tokens of the hard-negative motion maps
    (the motion maps after the first B, see :meth:`loss`).

    Args:
        in_channels: channels of the clip map (2048 for the fused ResNet-26).
        motion_channels: channels of the motion-encoder map (512).
        num_source_tokens: S, 98 for R(2+1)D-26 at 16x112x112.
        num_target_tokens: P, 49 for 8x112x112 motion windows. CMD fills
            these four from a dry run of its backbones.
        embed_dims: transformer width D.
        num_heads: attention heads.
        num_encoder_layers / num_decoder_layers: transformer depth.
        feedforward_channels: hidden width of the transformer's FFNs.
        dropout: dropout of attention and FFNs.
        hidden_channels: width of the projections' hidden layer.
        out_channels: dimension of the normalised tokens contrasted.
        loss: loss cfg called as ``loss(query (B*P, D), keys (K, D))`` with
            the positives first among the keys, returning ``(loss,
            accuracy)``; the default ``dict(type='GatheredInfoNCE',
            temperature=0.1, loss_weight=1.0)`` gathers the keys of every
            rank. Its ``loss_weight`` scales ``loss_motion``.
        transformer_init: ``'xavier'`` (default): Xavier-uniform for every
            transformer matrix; ``'reference'``: then every Linear layer of
            the transformer (attention output and feed-forward layers)
            re-drawn N(0, 0.01) with zero bias, as the reference code
            re-initialises them.
        still_cells: how keys of still cells (mean motion magnitude at most
            ``still_threshold``) enter the loss. ``'keep'`` (the reference):
            like any key, so on mostly still video most keys are identical
            and a still query's loss cannot go below ln(number of still
            keys). ``'collapse'``: the still keys count as one key, every
            query sees a single still key (its own positive when it is
            still). ``'drop'``: still queries leave the loss and still keys
            leave every softmax. Needs the motion windows in :meth:`loss`.
        still_threshold: largest mean motion magnitude of a still cell, in
            the units of the motion input (after ``MotionNormalize``: 0.02
            is 0.2 px/frame at scale 10).
        init_cfg: mmengine init config; without one the reference init
            (see :meth:`init_weights`).
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 motion_channels: Optional[int] = None,
                 num_source_tokens: Optional[int] = None,
                 num_target_tokens: Optional[int] = None,
                 embed_dims: int = 512,
                 num_heads: int = 8,
                 num_encoder_layers: int = 2,
                 num_decoder_layers: int = 4,
                 feedforward_channels: int = 512,
                 dropout: float = 0.1,
                 hidden_channels: int = 2048,
                 out_channels: int = 512,
                 loss: dict = dict(type='GatheredInfoNCE'),
                 transformer_init: str = 'xavier',
                 still_cells: str = 'keep',
                 still_threshold: float = 0.02,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if transformer_init not in ('xavier', 'reference'):
            raise ValueError("transformer_init must be 'xavier' or "
                             f"'reference', got {transformer_init!r}")
        if still_cells not in STILL_CELL_MODES:
            raise ValueError(f'still_cells must be one of {STILL_CELL_MODES},'
                             f' got {still_cells!r}')
        self.transformer_init = transformer_init
        self.still_cells = still_cells
        self.still_threshold = still_threshold
        require_channels(type(self).__name__, in_channels=in_channels,
                         motion_channels=motion_channels,
                         num_source_tokens=num_source_tokens,
                         num_target_tokens=num_target_tokens)
        self.num_source_tokens = num_source_tokens
        self.num_target_tokens = num_target_tokens
        self.fc = nn.Linear(in_channels, embed_dims, bias=False)
        self.source_embedding = nn.Embedding(num_source_tokens, embed_dims)
        self.target_embedding = nn.Embedding(num_target_tokens, embed_dims)
        self.transformer = PredictionTransformer(
            embed_dims, num_heads, num_encoder_layers, num_decoder_layers,
            feedforward_channels, dropout)
        self.query_proj = ProjectionMLP(embed_dims, hidden_channels,
                                        out_channels)
        self.key_proj = ProjectionMLP(motion_channels, hidden_channels,
                                      out_channels)
        self.loss_module = build_loss(loss)

    def init_weights(self) -> None:
        """Xavier transformer, N(0, 0.01) fc, U(0, 1) positions, Kaiming heads."""
        if self.init_cfg:
            return super().init_weights()
        self.transformer.reset_parameters()
        if self.transformer_init == 'reference':
            for module in self.transformer.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, std=0.01)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.uniform_(self.source_embedding.weight)
        nn.init.uniform_(self.target_embedding.weight)
        self.query_proj.reset_parameters()
        self.key_proj.reset_parameters()
        self._is_init = True

    def _check_tokens(self, tokens: torch.Tensor, expected: int,
                      what: str) -> None:
        if tokens.shape[1] != expected:
            raise ValueError(
                f'{type(self).__name__}: {what} map has {tokens.shape[1]} '
                f'positions but the head was built for {expected}; set '
                'clip_shape / motion_shape of CMD to the training input size.')

    def forward(self, clip_map: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) clip map -> (B, P, D) normalised predictions."""
        tokens = map_to_tokens(clip_map)
        self._check_tokens(tokens, self.num_source_tokens, 'clip')
        pred = self.transformer(self.fc(tokens), self.source_embedding.weight,
                                self.target_embedding.weight)
        return self.query_proj(pred.flatten(0, 1)).view(pred.shape[0],
                                                         pred.shape[1], -1)

    def encode_motion(self, motion_map: torch.Tensor) -> torch.Tensor:
        """(N, C_m, t, h, w) motion-encoder map -> (N, P, D) normalised keys."""
        tokens = map_to_tokens(motion_map)
        self._check_tokens(tokens, self.num_target_tokens, 'motion')
        keys = self.key_proj(tokens.flatten(0, 1))
        return keys.view(tokens.shape[0], tokens.shape[1], -1)

    def loss(self, clip_map: torch.Tensor, motion_map: torch.Tensor,
             windows: Optional[torch.Tensor] = None
             ) -> Dict[str, torch.Tensor]:
        """``loss_motion`` (weighted) and ``acc_motion`` (top-1, 0..1).

        ``clip_map``: (B, C, T, H, W). ``motion_map``: (B + B*N, C_m, t, h, w)
        motion-encoder maps of all windows, the B true future windows first
        (window b belongs to clip b), then any N hard negatives per video in
        any order; with N = 0 only the true futures. ``windows``: the motion
        windows (B + B*N, 2, T_m, H, W) the maps come from; with them the
        still cells are found (needed unless ``still_cells='keep'``) and
        three detached diagnostics are added: ``still_share`` (share of
        still keys), and over the queries of moving cells against every key
        (the reference loss): ``nce_motion_moving`` and
        ``acc_motion_moving``.
        """
        num_videos = clip_map.shape[0]
        if motion_map.shape[0] < num_videos:
            raise ValueError(
                f'{type(self).__name__}: {motion_map.shape[0]} motion maps '
                f'for {num_videos} clips; pass the true future window of '
                'every clip first, then the hard negatives.')
        if windows is None and self.still_cells != 'keep':
            raise ValueError(f"{type(self).__name__}: still_cells="
                             f"'{self.still_cells}' needs the motion windows"
                             ' in loss(clip_map, motion_map, windows).')
        query = self(clip_map).flatten(0, 1)
        keys = self.encode_motion(motion_map).flatten(0, 1)
        if windows is None:
            loss, acc = self.loss_module(query, keys)
            return dict(loss_motion=loss, acc_motion=acc)
        still = still_cells(windows, motion_map.shape[2:],
                            self.still_threshold).flatten()
        groups = still_key_groups(still, self.still_cells)
        weights = None
        if self.still_cells == 'drop':  # still queries out of the mean too
            weights = (~still[:query.shape[0]]).float()
        loss, acc = self.loss_module(query, keys, groups, weights)
        losses = dict(loss_motion=loss, acc_motion=acc)
        losses.update(self.moving_diagnostics(query, keys, still))
        return losses

    def moving_diagnostics(self, query: torch.Tensor, keys: torch.Tensor,
                           still: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Detached: share of still keys, and the reference InfoNCE and
        top-1 accuracy of the moving cells' queries against all local keys
        (the same numbers whatever ``still_cells`` is)."""
        with torch.no_grad():
            moving = (~still[:query.shape[0]]).float()
            labels = torch.arange(query.shape[0], device=query.device)
            temperature = getattr(self.loss_module, 'temperature', 0.1)
            nce, acc = info_nce(query, keys, labels, temperature,
                                query_weights=moving)
        return dict(still_share=still.float().mean(),
                    nce_motion_moving=nce, acc_motion_moving=acc)
