"""InceptionI3D: exact size, TF "SAME" padding, shapes, init, as an encoder."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
from clip_encoder_checks import (
    check_in_recognizer,
    check_in_self_supervisor,
    meta,
    num_params,
)

from mmcmd.models.backbones import InceptionI3D
from mmcmd.models.backbones.inception_i3d import SamePadMaxPool3d, Unit3D


def test_parameter_count_is_dsm_i3d():
    net = meta(InceptionI3D)
    assert num_params(net) == 12_287_264
    assert net.stage_channels == [480, 832, 1024]
    assert net.out_channels == 1024
    # BN after every conv, no conv bias.
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv3d)]
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert len(convs) == len(bns) == 3 + 9 * 6
    assert all(c.bias is None for c in convs)


@pytest.mark.parametrize('size,expected', [(224, (1024, 2, 7, 7)),
                                           (112, (1024, 2, 4, 4))])
def test_output_map_shapes(size, expected):
    net = meta(InceptionI3D)
    out = net(torch.empty(2, 3, 16, size, size, device='meta'))
    assert tuple(out.shape) == (2, *expected)


def test_out_indices_and_global_pool():
    net = meta(InceptionI3D, out_indices=(0, 1, 2))
    maps = net(torch.empty(1, 3, 16, 224, 224, device='meta'))
    assert [tuple(m.shape[1:]) for m in maps] == [
        (480, 8, 28, 28), (832, 4, 14, 14), (1024, 2, 7, 7)]
    pooled = meta(InceptionI3D, global_pool=True)
    assert tuple(pooled(torch.empty(3, 3, 16, 112, 112, device='meta')
                        ).shape) == (3, 1024)
    half = meta(InceptionI3D, base_channels=32)
    assert half.out_channels == 512
    assert num_params(half) < num_params(meta(InceptionI3D)) // 3
    with pytest.raises(ValueError, match='out_indices'):
        InceptionI3D(out_indices=(3, ))


def _front_pad(n: int, k: int, s: int) -> int:
    """TF "SAME": total padding, the smaller half in front."""
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2


def _windows(size, kernel, stride):
    """For each output index along each axis, the in-range input indices."""
    axes = []
    for n, k, s in zip(size, kernel, stride):
        front = _front_pad(n, k, s)
        axes.append([[i for i in range(o * s - front, o * s - front + k)
                      if 0 <= i < n] for o in range(math.ceil(n / s))])
    return axes


@pytest.mark.parametrize('size', [(5, 6, 7), (4, 9, 8)])
def test_same_max_pool_equals_brute_force(size):
    torch.manual_seed(0)
    x = torch.randn(1, 2, *size) - 5.0  # all negative: zero padding is wrong
    pool = SamePadMaxPool3d((3, 3, 3), (2, 2, 2))
    out = pool(x)
    wt, wh, ww = _windows(size, (3, 3, 3), (2, 2, 2))
    assert tuple(out.shape[2:]) == (len(wt), len(wh), len(ww))
    for c, (a, ta), (b, hb), (d, wd) in itertools.product(
            range(2), enumerate(wt), enumerate(wh), enumerate(ww)):
        window = x[0, c][ta][:, hb][:, :, wd]
        assert out[0, c, a, b, d] == window.max()


@pytest.mark.parametrize('size,kernel,stride', [
    ((5, 6, 7), (3, 3, 3), (2, 2, 2)),
    ((6, 9, 10), (7, 7, 7), (2, 2, 2)),
    ((3, 5, 4), (3, 3, 3), (1, 1, 1)),
])
def test_same_conv_equals_brute_force(size, kernel, stride):
    torch.manual_seed(0)
    unit = Unit3D(2, 3, kernel, stride).eval()  # BN: identity up to eps
    x = torch.randn(1, 2, *size)
    out = unit(x)
    scale = 1 / math.sqrt(1 + unit.bn.eps)
    w = unit.conv.weight
    axes = _windows(size, kernel, stride)
    fronts = [_front_pad(n, k, s) for n, k, s in zip(size, kernel, stride)]
    assert tuple(out.shape[2:]) == tuple(len(a) for a in axes)
    for o in itertools.product(*(range(len(a)) for a in axes)):
        ref = torch.zeros(3)
        for ts, hs, ws in itertools.product(*(a[i] for a, i in zip(axes, o))):
            kt, kh, kw = (p - (i * s - f) for p, i, s, f in
                          zip((ts, hs, ws), o, stride, fronts))
            ref += w[:, :, kt, kh, kw] @ x[0, :, ts, hs, ws]
        torch.testing.assert_close(out[0, :, o[0], o[1], o[2]],
                                   torch.relu(ref * scale))


def test_init_kaiming_fan_out_and_bn_identity():
    torch.manual_seed(0)
    net = InceptionI3D(base_channels=16)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.normal_(m.weight)
            torch.nn.init.normal_(m.bias)
    net.init_weights()
    w = net.Mixed_5c.branch1[1].conv.weight
    expected_std = math.sqrt(2.0 / (w.shape[0] * w[0, 0].numel()))
    assert abs(w.std().item() - expected_std) / expected_std < 0.05
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def test_clip_encoder_of_a_self_supervisor():
    check_in_self_supervisor(dict(type='InceptionI3D', base_channels=16),
                             clip_shape=(8, 32, 32))


def test_clip_encoder_of_recognizer3d():
    check_in_recognizer(dict(type='InceptionI3D', base_channels=16),
                        in_channels=256)


def test_pretrained_init_cfg_loads_backbone_tensors(tmp_path):
    torch.manual_seed(0)
    source = InceptionI3D(base_channels=8)
    with torch.no_grad():
        for i, p in enumerate(source.parameters()):
            p.copy_(torch.full_like(p, 0.001 * (i + 1)))
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    torch.save({'state_dict': state}, tmp_path / 'dsm.pth')
    net = InceptionI3D(base_channels=8, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'dsm.pth'),
        prefix='backbone.'))
    net.init_weights()
    assert net.pretrained_summary is not None
    for key, value in source.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key
