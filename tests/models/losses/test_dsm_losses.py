"""DSM's losses are registered and weighted; the queue loss enqueues only in
training mode."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mmcmd.models.losses import (
    DSMQueueInfoNCE,
    DSMTripletLoss,
    build_loss,
    dsm_logits,
)


def test_registered_and_weighted():
    q, k, n = (F.normalize(torch.randn(3, 8), dim=1) for _ in range(3))
    queue_loss = build_loss(dict(type='DSMQueueInfoNCE', embed_dims=8,
                                 queue_size=5, loss_weight=2.0)).eval()
    assert isinstance(queue_loss, DSMQueueInfoNCE)
    loss, acc = queue_loss(q, k, n)
    logits = dsm_logits(q, k, queue_loss.queue, n, 0.07)
    torch.testing.assert_close(
        loss, 2.0 * F.cross_entropy(logits, torch.zeros(3, dtype=torch.long)))
    assert queue_loss.queue_ptr.item() == 0  # eval: no enqueue
    queue_loss.train()
    queue_loss(q, k, n)
    torch.testing.assert_close(queue_loss.queue[:3], k)
    triplet = build_loss(dict(type='DSMTripletLoss', loss_weight=0.5))
    assert isinstance(triplet, DSMTripletLoss)
    torch.testing.assert_close(
        triplet(q, k, n), 0.5 * DSMTripletLoss()(q, k, n))
