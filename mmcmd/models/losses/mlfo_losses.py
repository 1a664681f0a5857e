"""Objectives of MLFO (multi-level feature optimisation, Qian et al. 2021).

Every loss takes the LOCAL features of one rank; keys of other videos are
gathered from all ranks. With ``gather_grad='exact'`` (the default) they are
gathered with :func:`gather_with_grad` (gradients flow back to their
owners), so N processes with B videos each give the loss and gradients of
one process with the N * B videos. With ``gather_grad='reference'`` other
ranks' features are constants and only the local slice keeps its gradient,
as the released code's ``all_gather`` (train.py:220-226). Registered in
mmaction's ``MODELS`` by :mod:`mmcmd.models.losses`; this module imports
only torch (and ``info_nce``).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .info_nce import gather_with_grad


def _full(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 when it is half precision (AMP), else as it is."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _check_pair(a: torch.Tensor, b: torch.Tensor, name: str) -> None:
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f'{name}: expects two (N, D) tensors of one shape, '
                         f'got {tuple(a.shape)} and {tuple(b.shape)}.')


#: values of ``gather_grad``: exact gradients through every rank's features,
#: or the released code's (other ranks' features without gradient).
GATHER_GRADS = ('exact', 'reference')

#: values of ``MLFOSwAVLoss(queue_rows=...)``: Sinkhorn over the queue's
#: rows plus the batch, or over a queue-length window that holds the batch.
QUEUE_ROWS = ('extra', 'reference')


def gather_features(tensor: torch.Tensor, gather_grad: str = 'exact'
                    ) -> Tuple[torch.Tensor, int]:
    """``tensor`` (N, ...) of every rank concatenated on dim 0, and the row
    offset of this rank's slice.

    ``gather_grad='exact'``: :func:`gather_with_grad`, the gradient of each
    rank's features sums the gradients of every rank's loss.
    ``'reference'``: the other ranks' parts are gathered without gradient
    and this rank's own slice is the live ``tensor``, so each rank's loss
    only differentiates its own features (the released code's
    ``all_gather``, train.py:220-226). With one process both return
    ``(tensor, 0)``.
    """
    if gather_grad == 'exact':
        return gather_with_grad(tensor)
    if gather_grad != 'reference':
        raise ValueError(f'gather_grad must be one of {GATHER_GRADS}, got '
                         f'{gather_grad!r}.')
    gathered, offset = gather_with_grad(tensor.detach())
    if gathered.shape[0] == tensor.shape[0]:  # one process
        return tensor, offset
    end = offset + tensor.shape[0]
    return torch.cat([gathered[:offset], tensor, gathered[end:]]), offset


class _ScaledLoss(nn.Module):
    """A loss with a temperature and a weight (the shared constructor)."""

    def __init__(self, temperature: float = 0.07,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight


class _GatheredLoss(_ScaledLoss):
    """A scaled loss whose keys come from every rank (``gather_grad``, see
    :func:`gather_features`)."""

    def __init__(self, temperature: float = 0.07, loss_weight: float = 1.0,
                 gather_grad: str = 'exact') -> None:
        super().__init__(temperature, loss_weight)
        if gather_grad not in GATHER_GRADS:
            raise ValueError(f'{type(self).__name__}: gather_grad must be '
                             f'one of {GATHER_GRADS}, got {gather_grad!r}.')
        self.gather_grad = gather_grad

    def gather(self, tensor: torch.Tensor) -> Tuple[torch.Tensor, int]:
        """:func:`gather_features` with this loss's ``gather_grad``."""
        return gather_features(tensor, self.gather_grad)


class MLFOInstanceLoss(_GatheredLoss):
    """Instance discrimination between the two clips of each video.

    Anchor clip 1 (or 2) of video i; positive: the other clip of video i;
    negatives: both clips of every other video of the global batch::

        loss_a = -log(exp(a.p / tau) / (exp(a.p / tau)
                                         + sum_neg exp(a.n / tau)))

    averaged over all 2N local anchors (features L2-normalised by the
    caller).

    Args:
        temperature: divides the dot products.
        loss_weight: factor of the returned loss.
        gather_grad: ``'exact'`` (gradients through every rank's features)
            or ``'reference'`` (other ranks' features are constants, as the
            released train.py:220-226); equal with one process.
    """

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """Weighted loss of local clip-1 / clip-2 features (N, D)."""
        _check_pair(z1, z2, type(self).__name__)
        n = z1.shape[0]
        keys1, offset = self.gather(z1)
        keys2, _ = self.gather(z2)
        m = keys1.shape[0]
        keys = torch.cat([keys1, keys2])  # (2M, D)
        anchors = torch.cat([z1, z2])  # (2N, D)
        logits = anchors @ keys.t() / self.temperature
        local = torch.arange(n, device=z1.device) + offset
        own = torch.cat([local, local + m])  # each anchor's own column
        positive = torch.cat([local + m, local])
        logits = logits.masked_fill(
            F.one_hot(own, 2 * m).bool(), float('-inf'))
        return F.cross_entropy(_full(logits), positive) * self.loss_weight


class MLFOMotionContrastLoss(_GatheredLoss):
    """Motion contrast with the time-reversed clips as hard negatives.

    Anchor: the normal-order clip 1 (or 2) of video i; positive: the other
    normal-order clip of video i; negatives: both normal-order clips of
    every other video of the global batch PLUS the time-reversed copies of
    video i's two clips. Mean over the 2N local anchors.

    Args:
        temperature: divides the dot products.
        loss_weight: factor of the returned loss.
        gather_grad: ``'exact'`` (gradients through every rank's features)
            or ``'reference'`` (other ranks' features are constants, as the
            released train.py:220-226); equal with one process.
    """

    def forward(self, m1: torch.Tensor, m2: torch.Tensor,
                r1: torch.Tensor, r2: torch.Tensor) -> torch.Tensor:
        """Weighted loss; normal clips ``m1``, ``m2`` and their reversed
        copies ``r1``, ``r2``, all (N, D) local."""
        _check_pair(m1, m2, type(self).__name__)
        _check_pair(r1, r2, type(self).__name__)
        _check_pair(m1, r1, type(self).__name__)
        n = m1.shape[0]
        keys1, offset = self.gather(m1)
        keys2, _ = self.gather(m2)
        m = keys1.shape[0]
        anchors = torch.cat([m1, m2])
        logits = anchors @ torch.cat([keys1, keys2]).t()
        local = torch.arange(n, device=m1.device) + offset
        own = torch.cat([local, local + m])
        positive = torch.cat([local + m, local])
        logits = logits.masked_fill(
            F.one_hot(own, 2 * m).bool(), float('-inf'))
        reversed_ = torch.stack([r1, r2], dim=1)  # (N, 2, D)
        reversed_ = torch.cat([reversed_, reversed_])  # per anchor
        hard = torch.einsum('ad,ard->ar', anchors, reversed_)
        logits = torch.cat([logits, hard], dim=1) / self.temperature
        return F.cross_entropy(_full(logits), positive) * self.loss_weight


def timestamp_logits(clip1: torch.Tensor, clip2: torch.Tensor,
                     global_clip: torch.Tensor) -> torch.Tensor:
    """(N, t, t) similarities between the local and global time steps.

    ``clip1``, ``clip2``, ``global_clip``: (N, D, t) per-step features of
    one level (t even). Clips 1 and 2 are average-pooled to t/2 steps each
    and concatenated in time (clip 1 first), so step k of the result covers
    the same frames as step k of the global clip; every step is then
    L2-normalised.
    """
    if not (clip1.shape == clip2.shape == global_clip.shape) or (
            clip1.dim() != 3):
        raise ValueError('timestamp_logits: expects three (N, D, t) tensors '
                         f'of one shape, got {tuple(clip1.shape)}, '
                         f'{tuple(clip2.shape)}, {tuple(global_clip.shape)}.')
    steps = clip1.shape[2]
    if steps < 2 or steps % 2:
        raise ValueError(f'timestamp matching needs an even number >= 2 of '
                         f'time steps, got {steps}.')
    half = steps // 2
    local = torch.cat([F.adaptive_avg_pool1d(clip1, half),
                       F.adaptive_avg_pool1d(clip2, half)], dim=2)
    local = F.normalize(local, dim=1)
    global_clip = F.normalize(global_clip, dim=1)
    return torch.einsum('nds,ndg->nsg', local, global_clip)


class MLFOTimestampLoss(_ScaledLoss):
    """Timestamp matching between the two local clips and the global clip.

    Per video, each of the t local steps (see :func:`timestamp_logits`)
    must retrieve the same-index step of the global clip among that video's
    t global steps, and each global step its local step: the mean of the
    two cross-entropies, averaged over steps and videos. No features of
    other videos are used.

    Args:
        temperature: divides the cosine similarities.
        loss_weight: factor of the returned loss.
    """

    def forward(self, clip1: torch.Tensor, clip2: torch.Tensor,
                global_clip: torch.Tensor) -> torch.Tensor:
        """Weighted loss of (N, D, t) per-step features."""
        logits = timestamp_logits(clip1, clip2, global_clip)
        logits = _full(logits) / self.temperature
        n, t, _ = logits.shape
        target = torch.arange(t, device=logits.device).repeat(n)
        forward = F.cross_entropy(logits.reshape(n * t, t), target)
        backward = F.cross_entropy(
            logits.transpose(1, 2).reshape(n * t, t), target)
        return (forward + backward) / 2 * self.loss_weight


@torch.no_grad()
def sinkhorn_knopp(scores: torch.Tensor, epsilon: float = 0.05,
                   iterations: int = 3) -> torch.Tensor:
    """Soft assignments (B, K) of B samples to K prototypes (SwAV).

    Q = exp(scores / epsilon)^T (K, B), normalised to sum 1; then
    ``iterations`` times: every prototype row rescaled to sum 1/K, every
    sample column to 1/B. Returns B * Q^T, whose rows sum to 1. The global
    maximum is subtracted before the exponential (it cancels in the first
    normalisation).
    """
    if scores.dim() != 2:
        raise ValueError(f'sinkhorn_knopp expects (B, K) scores, got '
                         f'{tuple(scores.shape)}.')
    scores = scores.double()
    q = torch.exp((scores - scores.max()) / epsilon).t()
    q = q / q.sum()
    num_prototypes, num_samples = q.shape
    for _ in range(iterations):
        q = q / q.sum(dim=1, keepdim=True) / num_prototypes
        q = q / q.sum(dim=0, keepdim=True) / num_samples
    return (q * num_samples).t()


class MLFOSwAVLoss(nn.Module):
    """Swapped prototype prediction of SwAV with Sinkhorn-Knopp codes.

    ``forward(logits1, logits2, queue)``: prototype scores (N, K) of clip 1
    and clip 2 (cosines). The scores of the M videos of the global batch
    are gathered (without gradient) and, when ``queue`` (L, 2, K; past
    scores, newest row first, as ``MLFO.queue``) is given, appended to rows
    of it; Sinkhorn-Knopp runs separately for clip 1 and clip 2 over all of
    them and the rows of the current global batch are the codes q1, q2::

        loss = -0.5 * mean_i [q2_i . log_softmax(logits1_i / tau)
                              + q1_i . log_softmax(logits2_i / tau)]

    Which queue rows: ``queue_rows='extra'`` all L of them (L + M rows in
    Sinkhorn); ``'reference'`` the newest L - M, so Sinkhorn sees L rows
    with the batch among them, as the released code, which pushes the
    batch into its L-row queue before running Sinkhorn over the queue
    (train.py:252-254, 299-304).

    Args:
        temperature: divides the scores inside the softmax.
        epsilon: Sinkhorn entropy regularisation.
        iterations: Sinkhorn iterations.
        loss_weight: factor of the returned loss.
        queue_rows: ``'extra'`` or ``'reference'`` (see above); ``'reference'``
            needs L >= M.
    """

    def __init__(self, temperature: float = 0.1, epsilon: float = 0.05,
                 iterations: int = 3, loss_weight: float = 1.0,
                 queue_rows: str = 'extra') -> None:
        super().__init__()
        if queue_rows not in QUEUE_ROWS:
            raise ValueError(f'MLFOSwAVLoss: queue_rows must be one of '
                             f'{QUEUE_ROWS}, got {queue_rows!r}.')
        self.temperature = temperature
        self.epsilon = epsilon
        self.iterations = iterations
        self.loss_weight = loss_weight
        self.queue_rows = queue_rows

    def codes(self, scores: torch.Tensor,
              queued: Optional[torch.Tensor]) -> torch.Tensor:
        """Sinkhorn codes of the last ``len(scores)`` rows of
        ``[queued; scores]``; ``queued`` newest row first, cut to its newest
        ``len(queued) - len(scores)`` rows with ``queue_rows='reference'``.
        """
        rows = len(scores)
        if queued is not None:
            if self.queue_rows == 'reference':
                if len(queued) < rows:
                    raise ValueError(
                        f"MLFOSwAVLoss(queue_rows='reference'): the queue "
                        f'({len(queued)} rows) must hold the global batch '
                        f'({rows} videos).')
                queued = queued[:len(queued) - rows]
            scores = torch.cat([queued.to(scores), scores])
        q = sinkhorn_knopp(scores, self.epsilon, self.iterations)
        return q[len(q) - rows:]

    def forward(self, logits1: torch.Tensor, logits2: torch.Tensor,
                queue: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(weighted loss, codes (M, 2, K) of the global batch, gathered
        scores (M, 2, K), detached; the queue's new rows)."""
        _check_pair(logits1, logits2, type(self).__name__)
        scores, offset = gather_with_grad(
            torch.stack([logits1, logits2], dim=1).detach())
        q1 = self.codes(scores[:, 0],
                        None if queue is None else queue[:, 0])
        q2 = self.codes(scores[:, 1],
                        None if queue is None else queue[:, 1])
        rows = slice(offset, offset + logits1.shape[0])
        log_p1 = F.log_softmax(_full(logits1) / self.temperature, dim=1)
        log_p2 = F.log_softmax(_full(logits2) / self.temperature, dim=1)
        loss = -0.5 * ((q2[rows].to(log_p1) * log_p1).sum(1)
                       + (q1[rows].to(log_p2) * log_p2).sum(1)).mean()
        codes = torch.stack([q1, q2], dim=1).to(logits1.dtype)
        return loss * self.loss_weight, codes, scores


@torch.no_grad()
def similarity_graph(z1: torch.Tensor, z2_all: torch.Tensor,
                     labels: torch.Tensor, labels_all: torch.Tensor,
                     offset: int, temperature: float = 0.07,
                     threshold: float = 0.05) -> torch.Tensor:
    """MLFO's graph G (N, M) from local rows to the global batch.

    G_ins = row-softmax(z1 . z2_all^T / temperature) with entries below
    ``threshold`` set to 0, except each video's own entry (i, offset + i);
    G_sem[i, j] = 1 where ``labels[i] == labels_all[j]`` (prototype
    assignments); G = G_ins * G_sem with rows rescaled to sum 1.
    """
    g_ins = torch.softmax(_full(z1 @ z2_all.t()) / temperature, 1)
    own = F.one_hot(torch.arange(z1.shape[0], device=z1.device) + offset,
                    z2_all.shape[0]).bool()
    g_ins = torch.where((g_ins < threshold) & ~own,
                        torch.zeros_like(g_ins), g_ins)
    g_sem = (labels[:, None] == labels_all[None, :]).to(g_ins)
    graph = g_ins * g_sem
    return graph / graph.sum(dim=1, keepdim=True)


class MLFOGraphLoss(_GatheredLoss):
    """Soft cross-entropy of a level's features against the graph G.

    ``forward(g1, g2, graph)``: local clip-1 / clip-2 features (N, D) of one
    level (L2-normalised), ``graph`` (N, M) from :func:`similarity_graph`
    (no gradient). With p_ij = softmax_j(g1_i . g2_j / tau) over the
    gathered clip-2 features of the M videos::

        loss = mean over the N x M entries of -G_ij log p_ij

    (the reference's mean over the matrix, not a sum over j).

    Args:
        temperature: divides the dot products.
        loss_weight: factor of the returned loss.
        gather_grad: ``'exact'`` (gradients through every rank's features)
            or ``'reference'`` (other ranks' features are constants, as the
            released train.py:220-226); equal with one process.
    """

    def forward(self, g1: torch.Tensor, g2: torch.Tensor,
                graph: torch.Tensor) -> torch.Tensor:
        """Weighted loss."""
        _check_pair(g1, g2, type(self).__name__)
        keys, _ = self.gather(g2)
        if graph.shape != (g1.shape[0], keys.shape[0]):
            raise ValueError(f'{type(self).__name__}: graph must be (N, M) = '
                             f'{(g1.shape[0], keys.shape[0])}, got '
                             f'{tuple(graph.shape)}.')
        log_p = F.log_softmax(_full(g1 @ keys.t()) / self.temperature, 1)
        return -(graph.to(log_p) * log_p).mean() * self.loss_weight
