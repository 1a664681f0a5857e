"""ClipMapFusion: the neck gives the clip map the old fusion function gave."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS

import mmcmd  # noqa: F401
from mmcmd.models.necks import ClipMapFusion


def reference_fusion(x3: torch.Tensor, x4: torch.Tensor) -> torch.Tensor:
    """The fusion as CMD computed it before it became a neck, written out
    step by step: stage-3 time steps t, t + f, ... stacked on channels (f =
    T3 // T4), stage 4 repeated to the folded size, then added."""
    fold = max(1, x3.shape[2] // x4.shape[2])
    folded = torch.cat([x3[:, :, i::fold] for i in range(fold)], dim=1)
    size = folded.shape[2:]
    upsampled = F.interpolate(x4, size=size, mode='nearest')
    return folded + upsampled


def test_neck_equals_reference_fusion_on_backbone_maps():
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='CMDResNet2Plus1d', depth=10,
                                 base_channels=8, out_indices=(2, 3)))
    neck = MODELS.build(dict(type='ClipMapFusion'))
    with torch.no_grad():
        x3, x4 = backbone(torch.randn(2, 3, 8, 64, 64))
        fused = neck((x3, x4))
    assert tuple(x3.shape) == (2, 32, 2, 4, 4)
    assert tuple(x4.shape) == (2, 64, 1, 2, 2)
    assert tuple(fused.shape) == (2, 64, 1, 4, 4)
    assert torch.equal(fused, reference_fusion(x3, x4))
    # the R(2+1)D-26 sizes at 16x112x112: 1024x4x7x7 + 2048x2x4x4
    x3, x4 = torch.randn(1, 1024, 4, 7, 7), torch.randn(1, 2048, 2, 4, 4)
    fused = neck([x3, x4])
    assert tuple(fused.shape) == (1, 2048, 2, 7, 7)
    assert torch.equal(fused, reference_fusion(x3, x4))


def test_fusion_folds_even_and_odd_steps():
    x3 = torch.arange(2 * 4 * 1 * 1, dtype=torch.float).view(1, 2, 4, 1, 1)
    x4 = torch.full((1, 4, 2, 1, 1), 100.0)
    fused = ClipMapFusion()((x3, x4))
    # channels 0-1 = steps 0, 2; channels 2-3 = steps 1, 3
    assert fused[0, :, 0, 0, 0].tolist() == [100, 104, 101, 105]
    assert fused[0, :, 1, 0, 0].tolist() == [102, 106, 103, 107]


def test_one_map_passes_and_bad_maps_give_clear_errors():
    neck = ClipMapFusion()
    x = torch.randn(1, 4, 2, 3, 3)
    assert neck(x) is x and neck((x, )) is x
    with pytest.raises(ValueError, match='out_indices'):
        neck((x, x, x))
    with pytest.raises(ValueError, match='channels'):
        neck((torch.randn(1, 3, 4, 2, 2), torch.randn(1, 4, 2, 1, 1)))
