"""FrozenBackbone: no gradient, BN statistics fixed, keys unchanged."""
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope

import mmcmd  # noqa: F401


def test_frozen_backbone_in_a_recognizer():
    with DefaultScope.overwrite_default_scope('mmaction'):
        check_frozen_recognizer()


def check_frozen_recognizer():
    backbone = dict(type='ResNet3d', depth=18, base_channels=8,
                    pretrained=None, pretrained2d=False,
                    conv1_kernel=(1, 3, 3), inflate=(0, 0, 0, 0))
    plain = MODELS.build(dict(type='Recognizer3D', backbone=backbone,
                              cls_head=dict(type='I3DHead', num_classes=3,
                                            in_channels=64)))
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='FrozenBackbone', backbone=backbone),
        cls_head=dict(type='I3DHead', num_classes=3, in_channels=64)))
    assert plain.state_dict().keys() == model.state_dict().keys()
    model.train()
    assert not model.backbone.training and model.cls_head.training
    stats = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    x = torch.randn(2, 3, 4, 16, 16)
    loss = model.cls_head(model.backbone(x)).sum()
    loss.backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.cls_head.parameters())
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, stats[key]), key
