"""Projection necks: registered, sized from cfg, pooling maps themselves."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mmcmd.models.necks import (
    LinearProjection,
    MLFOGlobalProjection,
    MLFOLevelProjection,
    ProjectionMLP,
)
from mmcmd.models.utils import build_module


def test_projection_mlp_pools_maps_and_keeps_official_indices():
    torch.manual_seed(0)
    neck = build_module(dict(type='ProjectionMLP', in_channels=6,
                             hidden_channels=10, out_channels=4)).eval()
    assert isinstance(neck, ProjectionMLP)
    assert {k.split('.')[0] for k in neck.state_dict()} == {'0', '1', '3',
                                                            '4'}
    maps = torch.randn(2, 6, 2, 3, 3)
    pooled = maps.mean(dim=(2, 3, 4))
    out = neck(pooled)
    torch.testing.assert_close(neck(maps), out)
    torch.testing.assert_close(neck((torch.randn(2, 3, 4), maps)), out)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(2))


def test_linear_projection_is_pool_linear_normalise():
    neck = build_module(dict(type='LinearProjection', in_channels=6,
                             out_channels=4))
    assert isinstance(neck, LinearProjection)
    assert set(neck.state_dict()) == {'fc.weight', 'fc.bias'}
    maps = torch.randn(2, 6, 2, 3, 3)
    expected = F.normalize(neck.fc(maps.mean(dim=(2, 3, 4))), dim=1)
    torch.testing.assert_close(neck(maps), expected)
    torch.testing.assert_close(neck((maps, )), expected)
    raw = LinearProjection(6, 4, normalize=False)
    raw.load_state_dict(neck.state_dict())
    torch.testing.assert_close(F.normalize(raw(maps), dim=1), expected)


def test_mlfo_projections_shapes():
    level = build_module(dict(type='MLFOLevelProjection', in_channels=6,
                              out_channels=4))
    assert isinstance(level, MLFOLevelProjection)
    seq = torch.randn(3, 6, 4)
    assert level.fine_steps(seq).shape == (3, 4, 4)
    for embed in (level.instance, level.graph_embed):
        torch.testing.assert_close(embed(seq).norm(dim=1), torch.ones(3))
    glob = build_module(dict(type='MLFOGlobalProjection', in_channels=6,
                             out_channels=4)).eval()
    assert isinstance(glob, MLFOGlobalProjection)
    assert glob.mlp[0].out_features == 6  # hidden = in_channels by default
    torch.testing.assert_close(glob(seq), glob(seq.mean(dim=2)))
