"""CMD backbones: exact published sizes, checkpoint key layout, init, forward."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS

import mmcmd  # noqa: F401
from mmcmd.models.backbones import (
    CMDC3D,
    CMDResNet2d,
    CMDResNet2Plus1d,
    CMDResNet3d,
)

REPO = Path(__file__).resolve().parents[3]
# Spec files of the public checkpoints (key -> shape); kept beside the repo.
SPEC_CANDIDATES = [REPO / 'tests' / 'data' / 'specs',
                   REPO.parent / 'shared' / 'specs']


def _spec(name: str) -> dict:
    for root in SPEC_CANDIDATES:
        if (root / name).is_file():
            return json.loads((root / name).read_text())
    pytest.skip(f'{name} not available')


def _meta(cls, **kwargs):
    with torch.device('meta'):
        return cls(**kwargs)


def _num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('cls,kwargs,expected', [
    (CMDResNet2Plus1d, dict(depth=26), 26_507_471),
    (CMDResNet3d, dict(depth=26), 26_498_752),
    (CMDC3D, dict(), 27_661_440),
    (CMDResNet3d, dict(depth=10, in_channels=2, stem_stride=1), 14_352_384),
    (CMDResNet2d, dict(depth=10, global_pool=True), 4_905_792),
])
def test_published_parameter_counts(cls, kwargs, expected):
    assert _num_params(_meta(cls, **kwargs)) == expected


@pytest.mark.parametrize('name,cls', [('r2plus1d_26', CMDResNet2Plus1d),
                                      ('r3d_26', CMDResNet3d),
                                      ('c3d', CMDC3D)])
def test_state_dict_equals_modelscope_spec(name, cls):
    spec = _spec('modelscope_backbones.json')[name]
    net = _meta(cls) if cls is CMDC3D else _meta(cls, depth=26)
    ours = {k: list(v.shape) for k, v in net.state_dict().items()}
    assert ours == spec['state_dict']
    assert _num_params(net) == spec['num_params']


@pytest.mark.parametrize('prefix,cls,kwargs', [
    ('m_backbone.', CMDResNet3d, dict(depth=10, in_channels=2, stem_stride=1)),
    ('i_backbone.', CMDResNet2d, dict(depth=10, global_pool=True)),
])
def test_encoders_equal_official_spec(prefix, cls, kwargs):
    spec = _spec('official_cmd_pretrain_r2plus1d26.json')['state_dict']
    expected = {k[len(prefix):]: v for k, v in spec.items()
                if k.startswith(prefix)}
    ours = {k: list(v.shape) for k, v in _meta(cls, **kwargs).state_dict().items()}
    assert ours == expected


def test_output_shapes_at_16x112x112():
    """Published map sizes (meta device: shapes without compute)."""
    clip = torch.empty(2, 3, 16, 112, 112, device='meta')
    r21d = _meta(CMDResNet2Plus1d, depth=26, out_indices=(2, 3))
    x3, x4 = r21d(clip)
    assert tuple(x3.shape) == (2, 1024, 4, 7, 7)
    assert tuple(x4.shape) == (2, 2048, 2, 4, 4)
    assert tuple(_meta(CMDResNet3d, depth=26)(clip).shape) == (2, 2048, 2, 4, 4)
    assert tuple(_meta(CMDC3D)(clip).shape) == (2, 512, 2, 7, 7)
    motion = _meta(CMDResNet3d, depth=10, in_channels=2, stem_stride=1)
    assert tuple(motion(torch.empty(2, 2, 8, 112, 112, device='meta')).shape
                 ) == (2, 512, 1, 7, 7)
    key = _meta(CMDResNet2d, depth=10, global_pool=True)
    assert tuple(key(torch.empty(2, 3, 112, 112, device='meta')).shape) == (2, 512)


def test_default_init_kaiming_fan_out_and_zero_gamma():
    torch.manual_seed(0)
    net = CMDResNet3d(depth=26, base_channels=16)
    net.init_weights()
    # Kaiming fan_out (ReLU gain): std = sqrt(2 / (out * k)).
    w = net.layer3[0].conv2.weight
    expected_std = (2.0 / (w.shape[0] * w[0, 0].numel())) ** 0.5
    assert abs(w.std().item() - expected_std) / expected_std < 0.05
    for block in list(net.layer1) + list(net.layer4):
        assert torch.all(block.bn3.weight == 0)
        assert torch.all(block.bn2.weight == 1)
    c21 = CMDResNet2Plus1d(depth=10, base_channels=8)
    c21.init_weights()
    assert torch.all(c21.layer2[0].bn2_t.weight == 0)
    assert torch.all(c21.layer2[0].bn1_t.weight == 1)


def test_pretrained_init_cfg_loads_with_prefix(tmp_path):
    source = CMDResNet3d(depth=10, base_channels=8)
    with torch.no_grad():
        for i, p in enumerate(source.parameters()):
            p.copy_(torch.full_like(p, 0.01 * (i + 1)))
    state = {'backbone.' + k: v for k, v in source.state_dict().items()}
    state['cls_head.fc.weight'] = torch.zeros(3, 3)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': state}, ckpt)
    net = MODELS.build(dict(
        type='CMDResNet3d', depth=10, base_channels=8,
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                      prefix='backbone.')))
    assert not torch.equal(net.layer2[0].conv1.weight,
                           source.layer2[0].conv1.weight)
    net.init_weights()
    for (name, p), (_, q) in zip(net.state_dict().items(),
                                 source.state_dict().items()):
        assert torch.equal(p, q), name
    wrong = MODELS.build(dict(
        type='CMDResNet3d', depth=10, base_channels=8,
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                      prefix='nothing.')))
    with pytest.raises(KeyError, match='prefix'):
        wrong.init_weights()


def _mmcmd_backbones():
    names = []
    for name, cls in MODELS.module_dict.items():
        if cls.__module__.startswith('mmcmd.models.backbones'):
            names.append(name)
    return sorted(names)


def test_registry_lists_all_families():
    assert {'CMDResNet2Plus1d', 'CMDResNet3d', 'CMDResNet2d',
            'CMDC3D'} <= set(_mmcmd_backbones())


@pytest.mark.parametrize('name', _mmcmd_backbones())
def test_registered_backbone_forward_backward(name):
    cfg = dict(type=name, base_channels=8)
    if 'ResNet' in name:
        cfg['depth'] = 10
    net = MODELS.build(cfg)
    net.init_weights()
    x = torch.randn(2, 3, 8, 32, 32, requires_grad=True)
    out = net(x)
    assert out.dim() == 5 and out.shape[:2] == (2, net.out_channels)
    out.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads)


def test_resnet2d_accepts_images_and_stage_outputs():
    net = CMDResNet2d(depth=18, base_channels=8, out_indices=(1, 3))
    a, b = net(torch.randn(2, 3, 32, 32))
    assert tuple(a.shape) == (2, 16, 4, 4) and tuple(b.shape) == (2, 64, 1, 1)
    pooled = CMDResNet2d(depth=10, base_channels=8, global_pool=True)
    assert tuple(pooled(torch.randn(2, 3, 32, 32)).shape) == (2, 64)
