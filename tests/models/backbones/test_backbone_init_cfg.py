"""Backbone init_cfg: empty checkpoint slot, crafted files, load summary."""
import os

import pytest
import torch
from mmaction.registry import MODELS

import mmcmd.models  # noqa: F401  (registers the backbones)
from mmcmd.utils import CheckpointMismatchError, UnsafeCheckpointError
from mmcmd.utils.checkpoint import (
    format_load_summary,
    group_keys,
    load_summary,
)


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


def test_load_summary_counts_and_groups_the_ignored_tensors():
    keys = ['backbone.conv.weight', 'backbone.bn.weight', 'backbone.bn.bias',
            'backbone.extra.weight', 'motion_backbone.conv.weight',
            'motion_backbone.bn.bias', 'motion_head.proj.weight', 'step']
    loaded = ['conv.weight', 'bn.weight', 'bn.bias']
    summary = load_summary(keys, 'backbone', loaded)
    assert summary == dict(loaded=3, total=8, ignored=5, ignored_groups=[
        'backbone.extra.*', 'motion_backbone.*', 'motion_head.*', 'step'])
    assert format_load_summary(summary, 'work_dirs/x/epoch_120.pth') == (
        'loaded 3 of 8 tensors of work_dirs/x/epoch_120.pth into backbone '
        '(5 ignored: backbone.extra.*, motion_backbone.*, motion_head.*, '
        'step)')
    everything = load_summary(loaded, '', loaded)
    assert everything['ignored'] == 0
    assert format_load_summary(everything, 'a.pth') == (
        'loaded 3 of 3 tensors of a.pth into backbone')
    many = [f'part{i}.w' for i in range(9)]
    assert format_load_summary(load_summary(many, 'backbone.', []),
                               'a.pth', max_groups=2).endswith(
        '(9 ignored: part0.*, part1.*, ...)')
    assert group_keys(['a', 'a.b', 'c']) == ['a.*', 'c']


def test_init_weights_keeps_the_summary_of_what_it_loaded(tmp_path):
    source = build(None)
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['keyframe_backbone.conv1.weight'] = torch.zeros(1)
    state['context_head.fc.weight'] = torch.zeros(1)
    path = tmp_path / 'cmd.pth'
    torch.save({'state_dict': state}, str(path))
    model = build(str(path))
    n = len(source.state_dict())
    assert model.pretrained_summary == dict(
        loaded=n, total=n + 2, ignored=2,
        ignored_groups=['context_head.*', 'keyframe_backbone.*'])
    assert torch.equal(model.conv1.weight, source.conv1.weight)


def test_pretrained_missing_or_misshapen_tensors_name_file_and_keys(tmp_path):
    source = build(None)
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    del state['backbone.conv1.weight']
    path = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, str(path))
    with pytest.raises(CheckpointMismatchError) as info:
        build(str(path))
    assert 'partial.pth' in str(info.value)
    assert '1 missing' in str(info.value) and 'conv1.weight' in str(info.value)
    state['backbone.conv1.weight'] = torch.zeros(1, 2, 3)
    torch.save({'state_dict': state}, str(path))
    with pytest.raises(CheckpointMismatchError, match='1 with other shapes'):
        build(str(path))
    with pytest.raises(FileNotFoundError, match='pretrained=PATH'):
        build(str(tmp_path / 'absent.pth'))
