"""Backbone init_cfg edge cases: empty checkpoint slot, crafted files."""
import os

import pytest
import torch

import mmcmd  # noqa: F401
from mmaction.registry import MODELS
from mmcmd.utils import UnsafeCheckpointError


def build(checkpoint):
    model = MODELS.build(dict(
        type='CMDResNet3d', depth=10, base_channels=4,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                      prefix='backbone.')))
    model.init_weights()
    return model


def test_pretrained_slot_left_empty_gives_default_init():
    model = build(None)
    assert model.conv1.weight.std() > 0


def test_crafted_pretrained_checkpoint_is_refused(tmp_path):
    marker = tmp_path / 'pwned'

    class Evil:
        def __reduce__(self):
            return (os.system, (f'touch {marker}',))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'backbone.x': Evil()}}, str(path))
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        build(str(path))
    assert not marker.exists()
