"""Heads of the contrastive baselines; each builds and owns its loss."""
from __future__ import annotations

from typing import Dict

import torch
from mmaction.registry import MODELS
from torch import nn

from ..losses import build_loss


@MODELS.register_module()
class ViewContrastHead(nn.Module):
    """Contrast two views of each video: ``loss(z1, z2)`` of (N, D)
    embeddings (view 1 and view 2 of the same N videos)::

        loss = L(z1 | z2)                    symmetric=False
        loss = (L(z1 | z2) + L(z2 | z1)) / 2  symmetric=True

    with ``L`` the loss module (``GatheredInfoNCE``: the positive of view 1
    of video i is view 2 of video i, the negatives the other videos' second
    views of all ranks), which returns ``(loss, top-1 accuracy)``.

    Args:
        loss: loss cfg; its ``loss_weight`` scales the loss.
        symmetric: also contrast view 2 against view 1 and average.
        name: the output keys are ``loss_{name}`` and ``acc_{name}``.
    """

    def __init__(self, loss: dict = dict(type='GatheredInfoNCE'),
                 symmetric: bool = True, name: str = 'contrast') -> None:
        super().__init__()
        self.loss_module = build_loss(loss)
        self.symmetric = symmetric
        self.name = name

    def loss(self, z1: torch.Tensor, z2: torch.Tensor
             ) -> Dict[str, torch.Tensor]:
        """``loss_{name}`` and ``acc_{name}``."""
        loss, acc = self.loss_module(z1, z2)
        if self.symmetric:
            loss_back, acc_back = self.loss_module(z2, z1)
            loss, acc = (loss + loss_back) / 2, (acc + acc_back) / 2
        return {f'loss_{self.name}': loss, f'acc_{self.name}': acc}


@MODELS.register_module()
class DSMHead(nn.Module):
    """DSM's contrast of a query with its key, the key queue and its
    intra-video negative: ``loss(query, key, negative)`` of (N, D)
    embeddings -> ``loss_dsm``, ``acc_dsm`` (top-1 of the positive).

    The loss (``DSMQueueInfoNCE``) holds the queue as buffers, saved in
    checkpoints under ``head.loss_module.``.

    Args:
        loss: loss cfg returning ``(loss, accuracy)``.
    """

    def __init__(self, loss: dict = dict(type='DSMQueueInfoNCE')) -> None:
        super().__init__()
        self.loss_module = build_loss(loss)

    def loss(self, query: torch.Tensor, key: torch.Tensor,
             negative: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss_dsm`` and ``acc_dsm``."""
        loss, accuracy = self.loss_module(query, key, negative)
        return dict(loss_dsm=loss, acc_dsm=accuracy)


@MODELS.register_module()
class DSMTripletHead(nn.Module):
    """DSM(Triplet)'s head: ``loss(query, key, negative)`` of (N, D)
    embeddings -> ``loss_triplet`` (``DSMTripletLoss``) and
    ``acc_triplet`` (share of anchors nearer their positive than their
    negative).

    Args:
        loss: loss cfg returning the loss.
    """

    def __init__(self, loss: dict = dict(type='DSMTripletLoss')) -> None:
        super().__init__()
        self.loss_module = build_loss(loss)

    def loss(self, query: torch.Tensor, key: torch.Tensor,
             negative: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss_triplet`` and ``acc_triplet``."""
        loss = self.loss_module(query, key, negative)
        with torch.no_grad():
            accuracy = ((query - key).norm(dim=1) <
                        (query - negative).norm(dim=1)).float().mean()
        return dict(loss_triplet=loss, acc_triplet=accuracy)
