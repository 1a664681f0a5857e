"""MLFO's heads, one per term of its objective; each owns its loss."""
from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Tuple

import torch
from mmaction.registry import MODELS
from torch import nn
from torch.nn import functional as F

from ..losses import build_loss, gather_with_grad
from ..losses.mlfo_losses import similarity_graph

Losses = Dict[str, torch.Tensor]


class MLFOLevel(NamedTuple):
    """One feature level of an MLFO batch: the (N, C, t) sequences of clip
    1, clip 2 and the global clip, the time-reversed clips 1 and 2 (levels
    with motion excitation; None otherwise), the level's projection neck
    (:class:`mmcmd.models.necks.MLFOLevelProjection`), its name and
    weight."""
    name: str
    weight: float
    projection: nn.Module
    clip1: torch.Tensor
    clip2: torch.Tensor
    global_clip: torch.Tensor
    reversed: Optional[Tuple[torch.Tensor, torch.Tensor]] = None


@MODELS.register_module()
class MLFOInstanceHead(nn.Module):
    """``loss_instance``: instance discrimination of the high-level
    embeddings of clip 1 and clip 2 (``MLFOInstanceLoss``).

    Args:
        loss: loss cfg.
    """

    def __init__(self, loss: dict = dict(type='MLFOInstanceLoss')) -> None:
        super().__init__()
        self.loss_module = build_loss(loss)

    def loss(self, z1: torch.Tensor, z2: torch.Tensor) -> Losses:
        return dict(loss_instance=self.loss_module(z1, z2))


@MODELS.register_module()
class MLFOTimestampHead(nn.Module):
    """``loss_ts_{level}``: the level weight times the timestamp matching
    of the level's per-step ``fine`` features (``MLFOTimestampLoss``);
    nothing for a level with fewer than 2 time steps.

    Args:
        loss: loss cfg.
    """

    def __init__(self, loss: dict = dict(type='MLFOTimestampLoss')) -> None:
        super().__init__()
        self.loss_module = build_loss(loss)

    def loss(self, level: MLFOLevel) -> Losses:
        if level.clip1.shape[2] < 2:
            return {}
        fine = level.projection.fine_steps
        return {f'loss_ts_{level.name}': level.weight * self.loss_module(
            fine(level.clip1), fine(level.clip2), fine(level.global_clip))}


@MODELS.register_module()
class MLFOMotionHead(nn.Module):
    """``loss_motion_{level}``: the level weight times the motion contrast
    with the time-reversed clips as hard negatives
    (``MLFOMotionContrastLoss``); nothing for a level without reversed
    clips.

    Args:
        loss: loss cfg.
    """

    def __init__(self,
                 loss: dict = dict(type='MLFOMotionContrastLoss')) -> None:
        super().__init__()
        self.loss_module = build_loss(loss)

    def loss(self, level: MLFOLevel) -> Losses:
        if level.reversed is None:
            return {}
        embed = level.projection.instance
        r1, r2 = level.reversed
        return {f'loss_motion_{level.name}': level.weight * self.loss_module(
            embed(level.clip1), embed(level.clip2), embed(r1), embed(r2))}


@MODELS.register_module()
class MLFOSwAVHead(nn.Module):
    """``loss_proto``: swapped prototype prediction (``MLFOSwAVLoss``) of
    the global embeddings of clip 1 and clip 2.

    Holds K learnable prototypes (a bias-free ``Linear(D, K)``; the scores
    of an embedding are its dot products with them, cosines once
    :meth:`normalize_` has run, which :meth:`loss` does in training mode)
    and the queue of past scores (``queue_length`` x 2 x K, newest row
    first, filled after every training step), both saved in checkpoints.

    Args:
        in_channels: D.
        num_prototypes: K.
        queue_length: rows of the score queue.
        loss: loss cfg, called as ``loss(scores1, scores2, queue)``.
    """

    def __init__(self, in_channels: int = 128, num_prototypes: int = 1000,
                 queue_length: int = 1024,
                 loss: dict = dict(type='MLFOSwAVLoss', loss_weight=0.5)
                 ) -> None:
        super().__init__()
        self.prototypes = nn.Linear(in_channels, num_prototypes, bias=False)
        self.loss_module = build_loss(loss)
        self.register_buffer(
            'queue', torch.randn(queue_length, 2, num_prototypes))

    @property
    def num_prototypes(self) -> int:
        return self.prototypes.out_features

    @torch.no_grad()
    def normalize_(self) -> None:
        """L2-normalise every prototype in place."""
        weight = self.prototypes.weight
        weight.copy_(F.normalize(weight, dim=1))

    def scores(self, z: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        """(N, D) -> (N, K) scores; ``frozen``: no gradient to the
        prototypes (their ``.grad`` stays None)."""
        weight = self.prototypes.weight
        return z @ (weight.detach() if frozen else weight).t()

    @torch.no_grad()
    def enqueue(self, scores: torch.Tensor) -> None:
        """Push the global batch's scores (M, 2, K) to the queue front,
        last video first: the queue is newest row first, the released
        code's FIFO (newest last, train.py:299-304) read backwards, so the
        rows kept are the same even when M does not divide its length."""
        scores = scores.flip(0)[:len(self.queue)].to(self.queue)
        self.queue.copy_(torch.cat([scores, self.queue[:-len(scores)]]))

    def loss(self, e1: torch.Tensor, e2: torch.Tensor,
             use_queue: bool = False, frozen: bool = False
             ) -> Tuple[Losses, torch.Tensor]:
        """(``loss_proto``, the Sinkhorn codes (M, 2, K) of the global
        batch); Sinkhorn runs over the queue too with ``use_queue``,
        ``frozen`` keeps the prototypes out of the gradient."""
        if self.training:
            self.normalize_()
        queue = self.queue.clone() if use_queue else None
        loss, codes, scores = self.loss_module(
            self.scores(e1, frozen), self.scores(e2, frozen), queue)
        if self.training:
            self.enqueue(scores)
        return dict(loss_proto=loss), codes


@MODELS.register_module()
class MLFOGraphHead(nn.Module):
    """``loss_graph_{level}``: the level weight times the soft
    cross-entropy of the level's ``graph`` embeddings against the graph
    G = G_ins * G_sem (``MLFOGraphLoss``), G built once per step by
    :meth:`graph` from the high-level instance embeddings and the
    prototype codes.

    Args:
        loss: loss cfg.
        temperature: temperature of G_ins.
        threshold: G_ins entries below it are dropped.
    """

    def __init__(self, loss: dict = dict(type='MLFOGraphLoss'),
                 temperature: float = 0.07, threshold: float = 0.05) -> None:
        super().__init__()
        self.loss_module = build_loss(loss)
        self.temperature = temperature
        self.threshold = threshold

    @torch.no_grad()
    def graph(self, z1: torch.Tensor, z2: torch.Tensor,
              codes: torch.Tensor) -> torch.Tensor:
        """(N, M) graph of the local videos against the global batch, from
        local instance embeddings (N, D) and the codes (M, 2, K)."""
        labels_all = codes.sum(dim=1).argmax(dim=1)
        z2_all, offset = gather_with_grad(z2.detach())
        return similarity_graph(
            z1.detach(), z2_all, labels_all[offset:offset + z1.shape[0]],
            labels_all, offset, self.temperature, self.threshold)

    def loss(self, level: MLFOLevel, graph: torch.Tensor) -> Losses:
        embed = level.projection.graph_embed
        return {f'loss_graph_{level.name}': level.weight * self.loss_module(
            embed(level.clip1), embed(level.clip2), graph)}
