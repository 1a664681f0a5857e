"""Heads: official key layout, shapes, and losses equal to a direct InfoNCE."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import mmcmd  # noqa: F401
from mmcmd.models.heads import ContextMatchingHead, MotionPredictionHead
from mmcmd.models.losses import GatheredInfoNCE, info_nce


def _small_motion_head(**kwargs) -> MotionPredictionHead:
    cfg = dict(in_channels=12, motion_channels=6, num_source_tokens=8,
               num_target_tokens=4, embed_dims=16, num_heads=2,
               num_encoder_layers=1, num_decoder_layers=2,
               feedforward_channels=16, hidden_channels=20, out_channels=8)
    cfg.update(kwargs)
    head = MotionPredictionHead(**cfg)
    head.init_weights()
    return head


def test_projection_keys_use_official_indices():
    head = ContextMatchingHead(in_channels=2048, keyframe_channels=512)
    keys = {k for k in head.state_dict() if not k.endswith('running_mean')
            and not k.endswith('running_var') and 'num_batches' not in k}
    assert {k.split('.', 1)[1] for k in keys if k.startswith('query_proj.')
            } == {'0.weight', '0.bias', '1.weight', '1.bias', '3.weight',
                  '4.weight', '4.bias'}
    assert tuple(head.query_proj[0].weight.shape) == (2048, 2048, 1)
    assert tuple(head.key_proj[3].weight.shape) == (512, 2048, 1)


def test_missing_channels_give_a_clear_error():
    with pytest.raises(ValueError, match='in_channels'):
        ContextMatchingHead(keyframe_channels=4)


def test_context_loss_is_infonce_over_keyframes():
    torch.manual_seed(0)
    head = ContextMatchingHead(in_channels=6, keyframe_channels=5,
                               hidden_channels=10, out_channels=4,
                               loss=dict(type='GatheredInfoNCE',
                                         loss_weight=2.0))
    head.init_weights()
    clip, key = torch.randn(5, 6), torch.randn(5, 5)
    losses = head.loss(clip, key)
    q, k = head(clip, key)
    assert torch.allclose(q.norm(dim=1), torch.ones(5))
    expected, acc = info_nce(q, k, torch.arange(5), 0.1)
    assert losses['loss_context'].item() == pytest.approx(
        2.0 * expected.item(), rel=1e-5)
    assert losses['acc_context'].item() == pytest.approx(acc.item())


def test_motion_head_positions_and_hard_negatives():
    torch.manual_seed(0)
    head = _small_motion_head().eval()
    clip_map = torch.randn(3, 12, 2, 2, 2)       # 8 source tokens
    motion = torch.randn(3, 6, 1, 2, 2)          # 4 target positions
    negatives = torch.randn(6, 6, 1, 2, 2)       # 2 hard negatives per video
    pred = head(clip_map)
    assert tuple(pred.shape) == (3, 4, 8)
    losses = head.loss(clip_map, torch.cat([motion, negatives]))
    # Positive of (b, p) is key (b, p); keys = 12 positives + 24 negatives.
    q = pred.flatten(0, 1)
    k = head.encode_motion(torch.cat([motion, negatives])).flatten(0, 1)
    expected, _ = info_nce(q, k, torch.arange(12), 0.1)
    assert losses['loss_motion'].item() == pytest.approx(expected.item(),
                                                         rel=1e-5)
    # The hard negatives enter the denominator.
    without, _ = info_nce(q, k[:12], torch.arange(12), 0.1)
    assert without.item() < expected.item()
    assert head.loss(clip_map, motion)['loss_motion'].item() == \
        pytest.approx(without.item(), rel=1e-5)
    with pytest.raises(ValueError, match='positions'):
        head(torch.randn(3, 12, 1, 2, 2))
    with pytest.raises(ValueError, match='true future'):
        head.loss(clip_map, motion[:2])


def test_heads_build_their_loss_from_the_config():
    """Default loss = GatheredInfoNCE(0.1, weight 1); loss=dict(...) sets
    temperature and weight, and any registered loss type is accepted."""
    torch.manual_seed(0)
    default = _small_motion_head().eval()
    assert isinstance(default.loss_module, GatheredInfoNCE)
    assert (default.loss_module.temperature,
            default.loss_module.loss_weight) == (0.1, 1.0)
    assert not list(default.loss_module.parameters())
    torch.manual_seed(0)
    warm = _small_motion_head(loss=dict(type='GatheredInfoNCE',
                                        temperature=0.5,
                                        loss_weight=3.0)).eval()
    assert torch.equal(default.fc.weight, warm.fc.weight)
    clip_map, motion = torch.randn(2, 12, 2, 2, 2), torch.randn(2, 6, 1, 2, 2)
    q = warm(clip_map).flatten(0, 1)
    k = warm.encode_motion(motion).flatten(0, 1)
    expected, _ = info_nce(q, k, torch.arange(8), 0.5)
    assert warm.loss(clip_map, motion)['loss_motion'].item() == \
        pytest.approx(3.0 * expected.item(), rel=1e-5)
    with pytest.raises(KeyError, match='NoSuchLoss'):
        ContextMatchingHead(in_channels=4, keyframe_channels=4,
                            loss=dict(type='NoSuchLoss'))


def test_decoder_input_is_zeros_and_positions_matter():
    """Permuting source positions changes the prediction (pos enters q/k)."""
    torch.manual_seed(0)
    head = _small_motion_head(dropout=0.0).eval()
    clip_map = torch.randn(2, 12, 2, 2, 2)
    a = head(clip_map)
    with torch.no_grad():
        head.source_embedding.weight.copy_(
            head.source_embedding.weight.flip(0))
    assert not torch.allclose(a, head(clip_map))
    assert torch.allclose(F.normalize(a, dim=2), a, atol=1e-6)


def test_reference_transformer_init_redraws_its_linear_layers():
    torch.manual_seed(0)
    xavier = _small_motion_head(feedforward_channels=400, embed_dims=64)
    torch.manual_seed(0)
    reference = _small_motion_head(feedforward_channels=400, embed_dims=64,
                                   transformer_init='reference')
    linears = [name for name, m in reference.transformer.named_modules()
               if isinstance(m, torch.nn.Linear)]
    # fc1, fc2 and each attention's out_proj: 1 encoder layer (one
    # attention) and 2 decoder layers (self and cross attention).
    assert len(linears) == 3 + 2 * 4
    ref_modules = dict(reference.transformer.named_modules())
    xav_modules = dict(xavier.transformer.named_modules())
    for name in linears:
        weight = ref_modules[name].weight
        assert weight.std().item() == pytest.approx(0.01, rel=0.1), name
        assert not ref_modules[name].bias.any()
        fan_out, fan_in = weight.shape
        xavier_std = (2 / (fan_in + fan_out)) ** 0.5
        assert xav_modules[name].weight.std().item() == pytest.approx(
            xavier_std, rel=0.1), name
    # Attention input projections are not Linear layers: Xavier in both.
    for name, p in reference.transformer.named_parameters():
        if name.endswith('in_proj_weight'):
            torch.testing.assert_close(
                p, dict(xavier.transformer.named_parameters())[name])
    with pytest.raises(ValueError, match='transformer_init'):
        _small_motion_head(transformer_init='normal')
