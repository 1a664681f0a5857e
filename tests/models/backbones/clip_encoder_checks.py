"""Checks shared by the backbone tests: a backbone as the clip encoder of a
self-supervisor and of mmaction's Recognizer3D, forward and backward."""
from __future__ import annotations

from typing import Iterator

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import DefaultScope

import mmcmd.models  # noqa: F401


def one_torch_thread() -> Iterator[None]:
    """Run a test with one torch thread, then restore the setting.

    The tests' tensors are tiny; on a machine whose cores are busy, the
    hand-offs between torch's threads cost more than the arithmetic (over
    ten times the single-thread time here). Used as an autouse fixture.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def num_params(module: torch.nn.Module) -> int:
    """Number of parameters (every tensor of ``parameters()``)."""
    return sum(p.numel() for p in module.parameters())


def meta(cls, **kwargs) -> torch.nn.Module:
    """``cls(**kwargs)`` built on the meta device (shapes, no memory)."""
    with torch.device('meta'):
        return cls(**kwargs)


def check_in_self_supervisor(backbone: dict, clip_shape=(8, 64, 64)) -> None:
    """RGBContrast with ``backbone``: finite loss, a gradient everywhere."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(type='RGBContrast', backbone=backbone,
                                  clip_shape=clip_shape, hidden_channels=32,
                                  out_channels=16))
    model.init_weights()
    clips = torch.randn(2, 2, 3, *clip_shape)
    losses = model(clips, mode='loss')
    assert torch.isfinite(losses['loss_contrast'])
    losses['loss_contrast'].backward()
    for name, p in model.backbone.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.backbone.parameters())
    embeddings = model(clips[:, 0], mode='predict')
    assert embeddings[0].embedding.shape == (model.backbone.out_channels, )


def check_in_recognizer(backbone: dict, in_channels: int,
                        clip_shape=(8, 64, 64)) -> None:
    """Recognizer3D + I3DHead on one clip: loss, gradients, 3 class scores."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(
            type='Recognizer3D', backbone=backbone,
            cls_head=dict(type='I3DHead', num_classes=3,
                          in_channels=in_channels),
            data_preprocessor=dict(type='ActionDataPreprocessor',
                                   format_shape='NCTHW')))
    model.init_weights()
    inputs = torch.randn(1, 1, 3, *clip_shape)
    sample = ActionDataSample().set_gt_label(2)
    losses = model(inputs, [sample], mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    for name, p in model.backbone.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    model.eval()
    with torch.no_grad():
        pred = model(inputs, [ActionDataSample()], mode='predict')
    assert pred[0].pred_score.numel() == 3
