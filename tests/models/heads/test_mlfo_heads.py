"""MLFO's heads: one term of the objective each, weighted per level."""
from __future__ import annotations

import torch

from mmcmd.models.heads import MLFOLevel
from mmcmd.models.losses import (
    MLFOMotionContrastLoss,
    MLFOSwAVLoss,
    MLFOTimestampLoss,
)
from mmcmd.models.utils import build_module


def level(steps: int, excited: bool) -> MLFOLevel:
    torch.manual_seed(0)
    projection = build_module(dict(type='MLFOLevelProjection',
                                   in_channels=6, out_channels=4))
    seqs = [torch.randn(3, 6, steps) for _ in range(5)]
    return MLFOLevel('mid', 0.5, projection, *seqs[:3],
                     tuple(seqs[3:]) if excited else None)


def test_timestamp_and_motion_heads_weight_their_level():
    lv = level(4, excited=True)
    ts = build_module(dict(type='MLFOTimestampHead'))
    assert isinstance(ts.loss_module, MLFOTimestampLoss)
    fine = lv.projection.fine_steps
    torch.testing.assert_close(
        ts.loss(lv)['loss_ts_mid'],
        0.5 * ts.loss_module(fine(lv.clip1), fine(lv.clip2),
                             fine(lv.global_clip)))
    motion = build_module(dict(type='MLFOMotionHead'))
    assert isinstance(motion.loss_module, MLFOMotionContrastLoss)
    embed = lv.projection.instance
    torch.testing.assert_close(
        motion.loss(lv)['loss_motion_mid'],
        0.5 * motion.loss_module(embed(lv.clip1), embed(lv.clip2),
                                 embed(lv.reversed[0]),
                                 embed(lv.reversed[1])))
    # one time step: no timestamp matching; no reversed clips: no motion
    assert ts.loss(level(1, excited=True)) == {}
    assert motion.loss(level(4, excited=False)) == {}


def test_swav_head_normalises_scores_and_queues_in_training():
    head = build_module(dict(type='MLFOSwAVHead', in_channels=4,
                             num_prototypes=3, queue_length=5))
    assert isinstance(head.loss_module, MLFOSwAVLoss)
    assert head.loss_module.loss_weight == 0.5
    assert set(head.state_dict()) == {'prototypes.weight', 'queue'}
    e1, e2 = (torch.randn(2, 4, requires_grad=True) for _ in range(2))
    old = head.queue.clone()
    head.eval()
    head.loss(e1, e2)
    assert torch.equal(head.queue, old)
    head.train()
    losses, codes = head.loss(e1, e2, frozen=True)
    assert set(losses) == {'loss_proto'} and codes.shape == (2, 2, 3)
    torch.testing.assert_close(head.prototypes.weight.norm(dim=1),
                               torch.ones(3))
    torch.testing.assert_close(head.queue[2:], old[:3])
    losses['loss_proto'].backward()
    assert head.prototypes.weight.grad is None
