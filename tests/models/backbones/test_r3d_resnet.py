"""R3DResNet: exact published sizes, shortcut type, shapes, out_indices."""
from __future__ import annotations

import math

import pytest
import torch
from clip_encoder_checks import (
    check_in_recognizer,
    check_in_self_supervisor,
    meta,
    num_params,
)

from mmcmd.models.backbones import R3DResNet


@pytest.mark.parametrize('depth,expected', [(18, 33_203_904),
                                            (34, 63_513_536)])
def test_parameter_counts_are_dsm_mlfo_r3d(depth, expected):
    assert num_params(meta(R3DResNet, depth=depth)) == expected
    no_pool = meta(R3DResNet, depth=depth, temporal_pool=False)
    assert num_params(no_pool) == expected


def test_shortcut_is_conv1x1x1_bn():
    """Hara's type 'B': the counts hold only with the projection shortcuts
    of the three stages that change shape, each conv 1x1x1 + BN."""
    net = meta(R3DResNet, depth=18)
    shortcut = {k: tuple(v.shape) for k, v in net.named_parameters()
                if 'downsample' in k}
    assert shortcut == {
        'layer2.0.downsample.0.weight': (128, 64, 1, 1, 1),
        'layer2.0.downsample.1.weight': (128, ),
        'layer2.0.downsample.1.bias': (128, ),
        'layer3.0.downsample.0.weight': (256, 128, 1, 1, 1),
        'layer3.0.downsample.1.weight': (256, ),
        'layer3.0.downsample.1.bias': (256, ),
        'layer4.0.downsample.0.weight': (512, 256, 1, 1, 1),
        'layer4.0.downsample.1.weight': (512, ),
        'layer4.0.downsample.1.bias': (512, ),
    }
    assert tuple(net.conv1.weight.shape) == (64, 3, 7, 7, 7)
    assert net.conv1.stride == (1, 2, 2) and net.conv1.bias is None


def test_output_shapes_dsm_and_mlfo_stems():
    clip = torch.empty(2, 3, 16, 112, 112, device='meta')
    dsm = meta(R3DResNet, depth=18)
    assert tuple(dsm(clip).shape) == (2, 512, 1, 4, 4)
    mlfo = meta(R3DResNet, depth=18, temporal_pool=False,
                out_indices=(1, 2, 3))
    low, mid, high = mlfo(clip)
    assert tuple(low.shape) == (2, 128, 8, 14, 14)
    assert tuple(mid.shape) == (2, 256, 4, 7, 7)
    assert tuple(high.shape) == (2, 512, 2, 4, 4)
    assert mlfo.out_channels == 512
    assert tuple(meta(R3DResNet, depth=34)(clip).shape) == (2, 512, 1, 4, 4)
    pooled = meta(R3DResNet, out_indices=(2, 3), global_pool=True)
    assert [tuple(o.shape) for o in pooled(clip)] == [(2, 256), (2, 512)]


def test_out_indices_return_the_stage_maps():
    """The tuple holds the same tensors as running the stages by hand."""
    torch.manual_seed(0)
    net = R3DResNet(depth=10, base_channels=8, out_indices=(0, 2, 3)).eval()
    x = torch.randn(1, 3, 8, 32, 32)
    outs = net(x)
    assert isinstance(outs, tuple) and len(outs) == 3
    with torch.no_grad():
        y = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        y1 = net.layer1(y)
        y3 = net.layer3(net.layer2(y1))
        y4 = net.layer4(y3)
    for got, want in zip(outs, (y1, y3, y4)):
        torch.testing.assert_close(got, want)
    default = R3DResNet(depth=10, base_channels=8).eval()
    assert default(x).shape == y4.shape  # one tensor: the last map
    with pytest.raises(ValueError, match='out_indices'):
        R3DResNet(out_indices=(4, ))


def test_temporal_pool_is_3x3x3_stride_2():
    dsm = R3DResNet(depth=10, base_channels=8)
    mlfo = R3DResNet(depth=10, base_channels=8, temporal_pool=False)
    assert (dsm.maxpool.kernel_size, dsm.maxpool.stride) == (3, 2)
    assert mlfo.maxpool.kernel_size == (1, 3, 3)
    x = torch.randn(1, 8, 8, 16, 16)
    assert tuple(dsm.maxpool(x).shape) == (1, 8, 4, 8, 8)
    assert tuple(mlfo.maxpool(x).shape) == (1, 8, 8, 8, 8)


def test_init_kaiming_fan_out_and_bn_identity():
    torch.manual_seed(0)
    net = R3DResNet(depth=18, base_channels=16)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.normal_(m.weight)
            torch.nn.init.normal_(m.bias)
    net.init_weights()
    w = net.layer4[1].conv1.weight
    expected_std = math.sqrt(2.0 / (w.shape[0] * w[0, 0].numel()))
    assert abs(w.std().item() - expected_std) / expected_std < 0.05
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def test_clip_encoder_of_a_self_supervisor():
    check_in_self_supervisor(dict(type='R3DResNet', depth=18, base_channels=16),
                             clip_shape=(8, 32, 32))


def test_clip_encoder_of_recognizer3d():
    check_in_recognizer(dict(type='R3DResNet', depth=18, base_channels=16),
                        in_channels=128)
