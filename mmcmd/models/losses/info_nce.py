"""InfoNCE with keys gathered from every rank (gradients flow back to owners)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


def _world() -> Tuple[int, int]:
    """(rank, world size); (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


#: values of ``key_grad_scale``: the exact gradient, or the reference
#: implementation's (1 / world size of it).
KEY_GRAD_SCALES = ('exact', 'reference')


def _all_gather(tensor: torch.Tensor, world: int) -> torch.Tensor:
    """``tensor`` of all ``world`` ranks concatenated on dim 0."""
    parts = [torch.empty_like(tensor) for _ in range(world)]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=0)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums the gradients of all ranks, then slices.

    Every rank's loss depends on every rank's keys, so the gradient of a local
    key is the sum over ranks of each rank's loss gradient (what the
    all-reduce gives), times ``grad_scale``; DDP then averages parameter
    gradients over ranks.
    """

    @staticmethod
    def forward(ctx, tensor: torch.Tensor,
                grad_scale: float = 1.0) -> torch.Tensor:
        rank, world = _world()
        ctx.rank, ctx.size = rank, tensor.shape[0]
        ctx.grad_scale = grad_scale
        return _all_gather(tensor, world)

    @staticmethod
    def backward(ctx, grad: torch.Tensor
                 ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.size
        local = grad[start:start + ctx.size]
        if ctx.grad_scale != 1.0:
            local = local * ctx.grad_scale
        return local, None


def gather_with_grad(tensor: torch.Tensor, grad_scale: float = 1.0
                     ) -> Tuple[torch.Tensor, int]:
    """Concatenate ``tensor`` (N, ...) of all ranks on dim 0, keeping autograd.

    Returns the gathered tensor (world * N, ...) and the row offset of this
    rank's slice. Every rank must pass the same shape. The gradient that
    reaches ``tensor`` is the sum over ranks times ``grad_scale`` (1 gives
    the exact gradient of the sum of the ranks' losses). Without an
    initialised process group it returns ``(tensor, 0)``.
    """
    rank, world = _world()
    if world == 1:
        return tensor, 0
    return (_GatherWithGrad.apply(tensor, float(grad_scale)),
            rank * tensor.shape[0])


def info_nce(query: torch.Tensor, keys: torch.Tensor, labels: torch.Tensor,
             temperature: float = 0.1,
             excluded: Optional[torch.Tensor] = None,
             query_weights: Optional[torch.Tensor] = None
             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mean InfoNCE of (M, C) queries against (K, C) keys; positives ``labels``.

    loss_i = -log(exp(q_i.k_{l_i} / tau) / sum_j exp(q_i.k_j / tau)). Returns
    (loss, top-1 accuracy in [0, 1] of picking the positive). Features are
    used as given (normalise them first for cosine similarity).

    ``excluded``: optional bool (M, K), True where key j is left out of query
    i's softmax (never its positive). ``query_weights``: optional (M,)
    weights; loss and accuracy are then weighted means (0 when all weights
    are 0).
    """
    if query.dim() != 2 or keys.dim() != 2 or query.shape[1] != keys.shape[1]:
        raise ValueError(f'info_nce expects (M, C) queries and (K, C) keys, '
                         f'got {tuple(query.shape)} and {tuple(keys.shape)}.')
    logits = (query @ keys.t() / temperature).float()
    if excluded is not None:
        logits = logits.masked_fill(excluded, float('-inf'))
    if query_weights is None:
        loss = F.cross_entropy(logits, labels)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=1) == labels).float().mean()
        return loss, accuracy
    weights = query_weights.float()
    total = weights.sum().clamp_min(1e-12)
    per_query = F.cross_entropy(logits, labels, reduction='none')
    loss = (per_query * weights).sum() / total
    with torch.no_grad():
        hits = (logits.argmax(dim=1) == labels).float()
        accuracy = (hits * weights).sum() / total
    return loss, accuracy


def group_exclusion(labels: torch.Tensor, groups: torch.Tensor
                    ) -> torch.Tensor:
    """Bool (M, K): which keys each query leaves out so that every group of
    interchangeable keys counts once.

    ``groups`` (K,) int: keys with the same id >= 0 are interchangeable
    (for example motion keys of still cells), -1 marks a key of its own,
    -2 a key left out of every softmax except as its own query's positive.
    Query i sees one member of each group: its positive ``labels[i]`` when
    the positive is in that group, else the group's first key.
    """
    num_keys = groups.shape[0]
    index = torch.arange(num_keys, device=groups.device)
    grouped = groups >= 0
    # First member of each key's group (its own index when ungrouped).
    same = (groups[:, None] == groups[None, :]) & grouped[:, None]
    first = torch.where(grouped, same.float().argmax(dim=1), index)
    excluded = (grouped & (first != index)).unsqueeze(0).repeat(
        labels.shape[0], 1)
    positive_group = groups[labels]
    in_positive_group = (grouped[None, :]
                         & (groups[None, :] == positive_group[:, None])
                         & (positive_group[:, None] >= 0))
    excluded |= in_positive_group | (groups == -2)[None, :]
    excluded[torch.arange(labels.shape[0], device=labels.device),
             labels] = False
    return excluded


def gather_plain(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` of all ranks on dim 0, without autograd."""
    world = _world()[1]
    return tensor if world == 1 else _all_gather(tensor, world)


class GatheredInfoNCE(nn.Module):
    """InfoNCE whose keys come from all ranks; key i of query i is positive.

    ``forward(query (M, C), keys (K, C))`` with M <= K: the positive of local
    query i is local key i (so put the positives first among the keys and any
    extra negatives after them). Returns ``(loss_weight * loss, top-1
    accuracy in [0, 1])``. Registered in mmaction's ``MODELS`` (by
    :mod:`mmcmd.models.losses`), so heads build it from
    ``loss=dict(type='GatheredInfoNCE', temperature=0.1)``.

    Gradients through the gathered keys: with ``key_grad_scale='exact'``
    each local key receives the exact gradient of the sum of every rank's
    loss, so after DDP averages over W ranks the parameters get the
    gradient of the mean loss, equal to one process training on the whole
    batch. ``'reference'`` divides that key-side gradient by W, as the
    reference CMD code does (it sums the key gradients over GPUs and divides
    by the world size before DDP's own averaging): the key encoders and
    their heads then learn at 1/W of the exact rate while queries are
    unchanged. One process (W = 1) is the same in both modes.

    Args:
        temperature: divides the query-key dot products (logits).
        loss_weight: factor of the returned loss.
        key_grad_scale: ``'exact'`` or ``'reference'`` (1 / world size on
            the key side), see above.
    """

    def __init__(self, temperature: float = 0.1, loss_weight: float = 1.0,
                 key_grad_scale: str = 'exact') -> None:
        super().__init__()
        if key_grad_scale not in KEY_GRAD_SCALES:
            raise ValueError(f'key_grad_scale must be one of '
                             f'{KEY_GRAD_SCALES}, got {key_grad_scale!r}')
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.key_grad_scale = key_grad_scale

    def key_gradient_factor(self) -> float:
        """Factor on the exact key-side gradient (1 or 1 / world size)."""
        if self.key_grad_scale == 'reference':
            return 1.0 / _world()[1]
        return 1.0

    def forward(self, query: torch.Tensor, keys: torch.Tensor,
                key_groups: Optional[torch.Tensor] = None,
                query_weights: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(weighted loss, top-1 accuracy) over the gathered keys.

        ``key_groups`` (K,) int: interchangeable local keys share an id >= 0
        (gathered with the keys; see :func:`group_exclusion`), -1 for the
        others; None: every key is its own. ``query_weights`` (M,): weights
        of the queries in the mean (None: all 1).
        """
        if query.shape[0] > keys.shape[0]:
            raise ValueError(f'{query.shape[0]} queries but only '
                             f'{keys.shape[0]} keys; every query needs its '
                             'positive key at the same local index.')
        all_keys, offset = gather_with_grad(keys,
                                            self.key_gradient_factor())
        labels = torch.arange(query.shape[0], device=query.device) + offset
        excluded = None
        if key_groups is not None:
            excluded = group_exclusion(labels, gather_plain(key_groups))
        loss, accuracy = info_nce(query, all_keys, labels, self.temperature,
                                  excluded, query_weights)
        return loss * self.loss_weight, accuracy

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, '
                f'loss_weight={self.loss_weight}, '
                f'key_grad_scale={self.key_grad_scale!r}')
