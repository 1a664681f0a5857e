"""Objectives of DSM (Wang et al., AAAI 2021): the key-queue InfoNCE and the
triplet loss with mirrored negatives. Registered in mmaction's ``MODELS``
by :mod:`mmcmd.models.losses`; this module imports only torch (and
``info_nce``), so a spawned test worker can load it alone."""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .info_nce import gather_with_grad


def dsm_logits(query: torch.Tensor, key: torch.Tensor, queue: torch.Tensor,
               negative: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, 1 + K + 1) logits ``[q.k | q.queue_1..K | q.n] / temperature``;
    the positive is column 0."""
    positive = (query * key).sum(dim=1, keepdim=True)
    intra = (query * negative).sum(dim=1, keepdim=True)
    return torch.cat([positive, query @ queue.t(), intra],
                     dim=1) / temperature


class DSMQueueInfoNCE(nn.Module):
    """InfoNCE over ``[positive | key queue | intra-video negative]``.

    ``forward(query, key, negative)`` ((B, D) each, L2-normalised;
    ``key`` from the momentum encoder, detached) returns ``(loss, top-1
    accuracy of the positive)`` with the queue as it was, then (in training
    mode) pushes the keys of every rank (gathered, in rank order) into the
    FIFO queue. The queue and its write position are buffers (saved in
    checkpoints, so a resumed run continues with the same queue). The queue
    starts as uniform values in +-1/sqrt(D/3), not normalised, as the
    released code.

    Ranks see the same queue, and the positive and the intra-video
    negative of a clip are its own, so the loss of a batch split over ranks
    equals that of the whole batch in one process (only the encoders' BN
    statistics, per rank, differ).

    Args:
        embed_dims: D, the embedding dimension.
        queue_size: K, keys kept (3569 in every released script).
        temperature: divides the logits.
        loss_weight: factor of the returned loss.
    """

    def __init__(self, embed_dims: int = 128, queue_size: int = 3569,
                 temperature: float = 0.07, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight
        bound = 1.0 / math.sqrt(embed_dims / 3)
        self.register_buffer(
            'queue', torch.rand(queue_size, embed_dims) * 2 * bound - bound)
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (N, D) at the queue's pointer, wrapping around."""
        size = self.queue.shape[0]
        rows = (self.queue_ptr + torch.arange(keys.shape[0],
                                              device=keys.device)) % size
        self.queue.index_copy_(0, rows, keys.to(self.queue.dtype))
        self.queue_ptr.copy_((self.queue_ptr + keys.shape[0]) % size)

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                negative: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(weighted mean cross-entropy at column 0, accuracy); then
        enqueue the keys."""
        key = key.detach()
        logits = dsm_logits(query, key, self.queue.clone().detach(),
                            negative, self.temperature)
        target = torch.zeros(query.shape[0], dtype=torch.long,
                             device=query.device)
        loss = F.cross_entropy(logits.float(), target)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=1) == 0).float().mean()
        if self.training:
            self.enqueue(gather_with_grad(key)[0])
        return loss * self.loss_weight, accuracy

    def extra_repr(self) -> str:
        return (f'queue_size={self.queue.shape[0]}, '
                f'temperature={self.temperature}')


class DSMTripletLoss(nn.Module):
    """``triplet(q, k, n) + reversed_weight * triplet(q, k, n reversed)``.

    ``triplet`` is ``mean_i max(|q_i - k_i|_p - |q_i - n_i|_p + margin,
    0)`` (``nn.TripletMarginLoss``). The second term gives each anchor the
    negative of the video at the mirrored place of the batch (another
    video's intra-video negative; with an odd batch the middle video keeps
    its own). The batch is the global one: negatives are gathered from
    every rank (gradients flow back to their owners), reversed, and each
    rank takes its slice, so ranks together equal one process on the whole
    batch (BN statistics aside).

    Args:
        margin: the triplet margin.
        p: the norm of the distances.
        reversed_weight: weight of the reversed-batch term (1 in the
            released code; 0 drops it).
        loss_weight: factor of the returned loss.
    """

    def __init__(self, margin: float = 0.5, p: float = 2.0,
                 reversed_weight: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.triplet = nn.TripletMarginLoss(margin=margin, p=p)
        self.reversed_weight = reversed_weight
        self.loss_weight = loss_weight

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                negative: torch.Tensor) -> torch.Tensor:
        """The weighted sum of both terms (mean over the local anchors),
        times ``loss_weight``."""
        loss = self.triplet(query, key, negative)
        if self.reversed_weight:
            everyone, offset = gather_with_grad(negative)
            mirrored = everyone.flip(0)[offset:offset + negative.shape[0]]
            loss = loss + self.reversed_weight * self.triplet(
                query, key, mirrored)
        return loss * self.loss_weight
