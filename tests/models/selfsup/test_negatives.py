"""Hard negatives kept apart until the motion loss: same numbers as the
reference flow (concatenate windows for the motion encoder, split the map,
concatenate again for the keys), checked against a direct computation."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from cmd_tiny_configs import synthetic_batch, tiny_cmd_cfg
from mmaction.registry import MODELS

import mmcmd  # noqa: F401


def brute_force_info_nce(query: torch.Tensor, keys: torch.Tensor,
                         tau: float) -> float:
    """Mean over i of log sum_j exp(q_i.k_j / tau) - q_i.k_i / tau."""
    logits = (query.double() @ keys.double().t()) / tau
    return float((torch.logsumexp(logits, 1) - logits.diagonal()).mean())


def reference_losses(model, inputs: dict) -> dict:
    """CMD's two losses the way the reference flow computed them."""
    x3, x4 = model.backbone(inputs['imgs'])
    fold = x3.shape[2] // x4.shape[2]
    folded = torch.cat([x3[:, :, i::fold] for i in range(fold)], dim=1)
    clip_map = folded + F.interpolate(x4, size=folded.shape[2:])
    num_videos = inputs['motion'].shape[0]
    windows = torch.cat([inputs['motion'],
                         inputs['negative_motion'].flatten(0, 1)])
    motion_map = model.motion_backbone(windows)
    true_map, negative_map = motion_map[:num_videos], motion_map[num_videos:]
    keyframe_vec = model.keyframe_backbone(inputs['keyframe'])
    head = model.context_head
    query, key = head(clip_map.flatten(2).mean(-1), keyframe_vec)
    context = brute_force_info_nce(query, key, 0.1)
    head = model.motion_head
    query = head(clip_map).flatten(0, 1)
    keys = head.encode_motion(torch.cat([true_map, negative_map]))
    motion = brute_force_info_nce(query, keys.flatten(0, 1), 0.1)
    return dict(loss_context=context, loss_motion=motion)


@pytest.fixture(scope='module')
def model_and_inputs():
    cfg = tiny_cmd_cfg()
    cfg['motion_head']['dropout'] = 0.0
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():  # leave the zero-initialised residual branches
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.train()
    batch = synthetic_batch(batch=3, negatives=2, seed=4)
    return model, model.data_preprocessor(batch, True)['inputs']


def test_losses_equal_the_reference_flow(model_and_inputs):
    model, inputs = model_and_inputs
    with torch.no_grad():
        losses = model.loss(inputs)
        expected = reference_losses(model, inputs)
    for name, value in expected.items():
        assert losses[name].item() == pytest.approx(value, rel=1e-5), name
    assert tuple(model.motion_windows(inputs).shape) == (9, 2, 4, 32, 32)


def test_negatives_share_the_motion_encoder_batch(model_and_inputs):
    """In training the BatchNorm statistics cover true and negative windows
    together; encoding the negatives on their own changes the loss."""
    model, inputs = model_and_inputs
    with torch.no_grad():
        together = model.loss(inputs)['loss_motion'].item()
        clip_map = model.clip_map(inputs['imgs'])
        apart = torch.cat([
            model.motion_backbone(inputs['motion']),
            model.motion_backbone(inputs['negative_motion'].flatten(0, 1))])
        separate = model.motion_head.loss(clip_map, apart)['loss_motion']
    assert abs(separate.item() - together) > 1e-3
    # without negatives the keys are the true futures only
    no_negatives = dict(inputs,
                        negative_motion=inputs['negative_motion'][:, :0])
    assert model.motion_windows(no_negatives) is inputs['motion']
