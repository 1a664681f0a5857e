"""Heads of RGBContrast and DSM: they build their registered losses and
return the named loss and accuracy."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mmcmd.models.losses import (
    DSMQueueInfoNCE,
    DSMTripletLoss,
    GatheredInfoNCE,
)
from mmcmd.models.utils import build_module


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g), dim=1)


@pytest.mark.parametrize('symmetric', [True, False])
def test_view_contrast_head_averages_both_directions(symmetric):
    head = build_module(dict(type='ViewContrastHead', symmetric=symmetric,
                             loss=dict(type='GatheredInfoNCE',
                                       temperature=0.2, loss_weight=2.0)))
    assert isinstance(head.loss_module, GatheredInfoNCE)
    z1, z2 = unit(5, 8), unit(5, 8, seed=1)
    losses = head.loss(z1, z2)
    assert set(losses) == {'loss_contrast', 'acc_contrast'}
    forward, acc = head.loss_module(z1, z2)
    backward, acc_back = head.loss_module(z2, z1)
    expected = (forward + backward) / 2 if symmetric else forward
    torch.testing.assert_close(losses['loss_contrast'], expected)
    expected_acc = (acc + acc_back) / 2 if symmetric else acc
    torch.testing.assert_close(losses['acc_contrast'], expected_acc)


def test_dsm_head_owns_its_queue_loss():
    head = build_module(dict(type='DSMHead', loss=dict(
        type='DSMQueueInfoNCE', embed_dims=8, queue_size=4,
        temperature=0.1, loss_weight=0.5)))
    assert isinstance(head.loss_module, DSMQueueInfoNCE)
    assert set(head.state_dict()) == {'loss_module.queue',
                                      'loss_module.queue_ptr'}
    q, k, n = unit(3, 8), unit(3, 8, seed=1), unit(3, 8, seed=2)
    head.eval()  # no enqueue
    losses = head.loss(q, k, n)
    plain = DSMQueueInfoNCE(8, 4, 0.1)
    plain.load_state_dict(head.loss_module.state_dict())
    plain.eval()
    loss, acc = plain(q, k, n)
    torch.testing.assert_close(losses['loss_dsm'], 0.5 * loss)
    torch.testing.assert_close(losses['acc_dsm'], acc)
    assert head.loss_module.queue_ptr.item() == 0
    head.train()
    head.loss(q, k, n)
    assert head.loss_module.queue_ptr.item() == 3


def test_dsm_triplet_head_loss_and_accuracy():
    head = build_module(dict(type='DSMTripletHead', loss=dict(
        type='DSMTripletLoss', margin=0.3, reversed_weight=0.0,
        loss_weight=3.0)))
    assert isinstance(head.loss_module, DSMTripletLoss)
    q, k, n = unit(4, 6), unit(4, 6, seed=1), unit(4, 6, seed=2)
    losses = head.loss(q, k, n)
    expected = F.triplet_margin_loss(q, k, n, margin=0.3)
    torch.testing.assert_close(losses['loss_triplet'], 3.0 * expected)
    nearer = ((q - k).norm(dim=1) < (q - n).norm(dim=1)).float().mean()
    torch.testing.assert_close(losses['acc_triplet'], nearer)
