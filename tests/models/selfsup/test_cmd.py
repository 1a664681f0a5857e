"""CMD self-supervisor: published size, official keys, shapes, training."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cmd_tiny_configs import CLIP_SHAPE, synthetic_batch, tiny_cmd_cfg
from mmaction.registry import MODELS

import mmcmd  # noqa: F401
from mmcmd.models.presets import cmd_model_cfg
from mmcmd.models.selfsup import mmcmd_to_official_key, official_to_mmcmd_key

REPO = Path(__file__).resolve().parents[3]
SPEC_CANDIDATES = [REPO / 'tests' / 'data' / 'specs',
                   REPO.parent / 'shared' / 'specs']


@pytest.fixture(scope='module')
def meta_cmd():
    """The full R(2+1)D-26 CMD on the meta device (shapes only)."""
    with torch.device('meta'):
        return MODELS.build(cmd_model_cfg('r2plus1d-26'))


def test_whole_network_has_published_parameter_count(meta_cmd):
    total = sum(p.numel() for p in meta_cmd.parameters())
    assert total == 72_126_991
    parts = {name: sum(p.numel() for p in getattr(meta_cmd, name).parameters())
             for name in ('backbone', 'motion_backbone', 'keyframe_backbone')}
    assert parts == dict(backbone=26_507_471, motion_backbone=14_352_384,
                         keyframe_backbone=4_905_792)
    transformer = meta_cmd.motion_head.transformer
    assert sum(p.numel() for p in transformer.parameters()) == 13_674_496


def test_official_checkpoint_maps_key_for_key(meta_cmd):
    spec_file = next((d / 'official_cmd_pretrain_r2plus1d26.json'
                      for d in SPEC_CANDIDATES
                      if (d / 'official_cmd_pretrain_r2plus1d26.json').is_file()),
                     None)
    if spec_file is None:
        pytest.skip('official checkpoint spec not available')
    spec = json.loads(spec_file.read_text())
    ours = {k: list(v.shape) for k, v in meta_cmd.state_dict().items()}
    mapped = {official_to_mmcmd_key(k): v for k, v in spec['state_dict'].items()}
    assert mapped == ours
    assert {mmcmd_to_official_key(k) for k in ours} == set(spec['state_dict'])
    assert official_to_mmcmd_key('module.fc.weight') == 'motion_head.fc.weight'
    with pytest.raises(KeyError, match='prefix'):
        official_to_mmcmd_key('classifier.weight')


def test_shapes_at_16x112x112(meta_cmd):
    clips = torch.empty(2, 3, 16, 112, 112, device='meta')
    fused = meta_cmd.clip_map(clips)
    assert tuple(fused.shape) == (2, 2048, 2, 7, 7)
    assert meta_cmd.motion_head.num_source_tokens == 98
    assert meta_cmd.motion_head.num_target_tokens == 49
    assert tuple(meta_cmd.motion_head(fused).shape) == (2, 49, 512)
    motion = meta_cmd.motion_backbone(torch.empty(2, 2, 8, 112, 112,
                                                  device='meta'))
    assert tuple(meta_cmd.motion_head.encode_motion(motion).shape) == (2, 49, 512)
    with torch.device('meta'):
        c3d = MODELS.build(cmd_model_cfg('c3d'))
    assert tuple(c3d.backbone(clips).shape) == (2, 512, 2, 7, 7)
    assert c3d.motion_head.num_source_tokens == 98
    assert tuple(c3d.motion_head.fc.weight.shape) == (512, 512)


def test_two_backbone_outputs_without_neck_give_a_clear_error():
    cfg = tiny_cmd_cfg(neck=None)
    with pytest.raises(ValueError, match='ClipMapFusion'):
        MODELS.build(cfg)


@pytest.fixture(scope='module')
def tiny_model():
    torch.manual_seed(0)
    model = MODELS.build(tiny_cmd_cfg())
    model.init_weights()
    return model


def test_data_preprocessor_normalises_and_stacks(tiny_model):
    batch = synthetic_batch(batch=2, negatives=3)
    data = tiny_model.data_preprocessor(batch, True)
    inputs = data['inputs']
    assert tuple(inputs['imgs'].shape) == (2, 3, *CLIP_SHAPE)
    assert tuple(inputs['keyframe'].shape) == (2, 3, *CLIP_SHAPE[1:])
    assert tuple(inputs['negative_motion'].shape) == (2, 3, 2, 4, 32, 32)
    raw = batch['inputs']['imgs'][1][2, 5, 7, 9].item()
    assert inputs['imgs'][1, 2, 5, 7, 9].item() == pytest.approx(
        (raw - 103.53) / 57.375, rel=1e-6)
    raw = batch['inputs']['keyframe'][0][0, 3, 4].item()
    assert inputs['keyframe'][0, 0, 3, 4].item() == pytest.approx(
        (raw - 123.675) / 58.395, rel=1e-6)
    assert torch.equal(inputs['motion'][1], batch['inputs']['motion'][1])
    # A list of per-sample dicts gives the same tensors.
    per_sample = [{k: v[i] for k, v in batch['inputs'].items()}
                  for i in range(2)]
    again = tiny_model.data_preprocessor(dict(inputs=per_sample), True)
    assert torch.equal(again['inputs']['imgs'], inputs['imgs'])


def test_loss_mode_gradients_and_training_reduces_both_losses(tiny_model):
    model = tiny_model
    model.train()
    data = model.data_preprocessor(synthetic_batch(batch=4, negatives=2), True)
    torch.manual_seed(1)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_context', 'acc_context', 'loss_motion',
                           'acc_motion', 'still_share', 'nce_motion_moving',
                           'acc_motion_moving'}
    assert not any(losses[key].requires_grad for key in (
        'still_share', 'nce_motion_moving', 'acc_motion_moving'))
    (losses['loss_context'] + losses['loss_motion']).backward()
    # Zero-init residual BNs block the residual branches at step 0, so the
    # first check is only that autograd reaches every parameter ...
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(5):
        torch.manual_seed(1)
        optimizer.zero_grad()
        losses = model(**data, mode='loss')
        if first is None:
            first = {k: v.item() for k, v in losses.items()}
        (losses['loss_context'] + losses['loss_motion']).backward()
        optimizer.step()
    # ... and after a few steps every gradient is non-zero.
    assert [n for n, p in model.named_parameters()
            if p.grad.abs().sum() == 0] == []
    torch.manual_seed(1)
    last = model(**data, mode='loss')
    assert last['loss_context'].item() < first['loss_context'] - 0.1
    assert last['loss_motion'].item() < first['loss_motion'] - 0.1


def test_predict_and_tensor_modes(tiny_model):
    model = tiny_model.eval()
    clips = [torch.randint(0, 256, (2, 3, *CLIP_SHAPE), dtype=torch.uint8)
             for _ in range(3)]
    data = model.data_preprocessor(dict(inputs=clips), False)
    assert tuple(data['inputs'].shape) == (3, 2, 3, *CLIP_SHAPE)
    with torch.no_grad():
        samples = model(**data, mode='predict')
        single = model(data['inputs'][:, 1], mode='predict')
        x3, x4 = model(data['inputs'][:, 0], mode='tensor')
    assert len(samples) == 3 and tuple(samples[0].embedding.shape) == (64, )
    assert tuple(x4.shape[:2]) == (3, 64) and x3.shape[1] == 32
    per_clip = torch.stack([x4.mean(dim=(2, 3, 4)),
                            torch.stack([s.embedding for s in single])], 1)
    torch.testing.assert_close(torch.stack([s.embedding for s in samples]),
                               per_clip.mean(1))
    model.train()


@pytest.mark.parametrize('backbone', [
    dict(type='ResNet2Plus1d', depth=18, pretrained=None, pretrained2d=False,
         base_channels=8, conv_cfg=dict(type='Conv2plus1d'),
         conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
         inflate=(1, 1, 1, 1), spatial_strides=(1, 2, 2, 2),
         temporal_strides=(1, 2, 2, 2), zero_init_residual=False,
         out_indices=(2, 3)),
    dict(type='ResNet3d', depth=18, pretrained=None, pretrained2d=False,
         base_channels=8, conv1_kernel=(3, 7, 7), inflate=(1, 1, 1, 1)),
], ids=['mmaction-ResNet2Plus1d-18-fused', 'mmaction-ResNet3d-18'])
def test_mmaction_backbone_as_clip_encoder(backbone):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cmd_cfg(backbone))
    model.init_weights()
    data = model.data_preprocessor(synthetic_batch(batch=2, negatives=1), True)
    losses = model(**data, mode='loss')
    (losses['loss_context'] + losses['loss_motion']).backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
    assert model.context_head.query_proj[0].in_channels == 64
