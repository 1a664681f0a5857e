"""mmcmd.utils.checkpoint: the one reader and loader of checkpoint files."""
import os

import numpy as np
import pytest
import torch
from torch import nn

from mmcmd.utils.checkpoint import (
    CheckpointMismatchError,
    NotACheckpointError,
    UnsafeCheckpointError,
    check_model_checkpoint,
    load_checkpoint_file,
    load_checkpoint_into,
    load_into,
    mmengine_checkpoint_safe_globals,
    read_state_dict,
    rename_keys,
    select_backbone,
    select_prefix,
    unwrap_state_dict,
    upgrade_state_dict,
)


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv1d(2, 3, 1), nn.BatchNorm1d(3))


def filled(value: float) -> dict:
    net = tiny()
    return {k: torch.full_like(v, value) for k, v in net.state_dict().items()}


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_crafted_file_is_refused_and_names_the_file(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {'x': _Payload(str(marker))}}, str(path))
    with pytest.raises(UnsafeCheckpointError, match='crafted.pth') as info:
        load_checkpoint_file(path)
    assert info.value.path == str(path)
    assert not marker.exists()
    with pytest.raises(FileNotFoundError, match='absent.pth.*fix this'):
        load_checkpoint_file(tmp_path / 'absent.pth', hint='fix this')


def test_allow_list_has_numpy_and_history_buffer_but_no_getattr():
    from mmengine.logging import HistoryBuffer
    allowed = mmengine_checkpoint_safe_globals()
    assert HistoryBuffer in allowed and np.ndarray in allowed
    assert getattr not in allowed
    restricted = [f for f in allowed if isinstance(f, tuple)]
    assert [name for _, name in restricted] == ['builtins.getattr']
    method = restricted[0][0]
    assert method(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(Exception, match='not allowed'):
        method(HistoryBuffer, '__init__')


def test_unwrap_and_select():
    w = torch.ones(2)
    assert unwrap_state_dict({'state_dict': {'module.a': w, 'module.b': w},
                              'meta': {'epoch': 3}}) == {'a': w, 'b': w}
    assert list(unwrap_state_dict({'model': {'a': w, 'step': 5}})) == ['a']
    with pytest.raises(TypeError, match="'x.pth' holds no state dict"):
        unwrap_state_dict([w], 'x.pth')
    with pytest.raises(TypeError, match='no tensors'):
        unwrap_state_dict({'state_dict': {'a': 1}}, 'x.pth')
    state = {'backbone.conv.w': w, 'head.fc.w': w}
    assert list(select_prefix(state, 'backbone')) == ['conv.w']
    assert select_prefix(state, '') == state
    with pytest.raises(CheckpointMismatchError, match="'nothing.'"):
        select_prefix(state, 'nothing.', 'x.pth')
    assert select_backbone({'rgb_backbone.a': w, 'm_backbone.a': w}) == (
        {'a': w}, 'rgb_backbone.')
    assert select_backbone({'a': w}) == ({'a': w}, '')


def test_strict_and_lenient_loading_with_summary(tmp_path):
    state = filled(0.5)
    net = tiny()
    summary = load_into(net, state, 'a.pth')
    assert summary == dict(loaded=len(state), total=len(state), ignored=0,
                           ignored_groups=[])
    assert torch.equal(net[0].weight, torch.full((3, 2, 1), 0.5))
    extra = dict(filled(2.0), **{'2.weight': torch.zeros(1)})
    with pytest.raises(CheckpointMismatchError, match="1 unexpected: '2.w"):
        load_into(net, extra, 'a.pth')
    assert torch.equal(net[0].weight, torch.full((3, 2, 1), 0.5))
    summary = load_into(net, extra, 'a.pth', strict=False)
    assert (summary['loaded'], summary['ignored']) == (len(state), 1)
    assert torch.equal(net[0].weight, torch.full((3, 2, 1), 2.0))
    # older files without num_batches_tracked load; other gaps do not.
    old = {k: v for k, v in filled(1.0).items()
           if not k.endswith('num_batches_tracked')}
    load_into(net, old, 'a.pth')
    del old['0.bias']
    with pytest.raises(CheckpointMismatchError, match="1 missing: '0.bias'"):
        load_into(net, old, 'a.pth', strict=False)
    bad = dict(filled(1.0), **{'0.weight': torch.zeros(3, 2)})
    with pytest.raises(CheckpointMismatchError, match='other shapes'):
        load_into(net, bad, 'a.pth', strict=False)


def test_file_to_module_through_a_prefix(tmp_path):
    state = {f'backbone.{k}': v for k, v in filled(3.0).items()}
    state['motion_backbone.conv.weight'] = torch.zeros(1)
    path = tmp_path / 'cmd.pth'
    torch.save({'state_dict': state, 'meta': {'seed': np.int64(1)}},
               str(path))
    assert set(read_state_dict(path, 'backbone')) == set(filled(0.0))
    net = tiny()
    summary = load_checkpoint_into(net, path, 'backbone.', strict=False)
    assert summary['ignored_groups'] == ['motion_backbone.*']
    assert summary['total'] == len(state)
    assert torch.equal(net[1].bias, torch.full((3, ), 3.0))


def test_a_file_that_is_no_checkpoint_is_named_so(tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('epoch 1: loss 0.5\n' * 10)
    with pytest.raises(NotACheckpointError, match='is not a checkpoint '
                       r'\(neither the zip archive'):
        load_checkpoint_file(text)
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': filled(1.0)}, good)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(NotACheckpointError, match='damaged zip file'):
        load_checkpoint_file(cut)
    legacy = tmp_path / 'legacy.pth'
    torch.save({'state_dict': filled(1.0)}, legacy,
               _use_new_zipfile_serialization=False)
    assert set(load_checkpoint_file(legacy)['state_dict']) == set(filled(1))


def test_refusal_names_the_class_in_full(tmp_path):
    torch.save({'state_dict': filled(1.0), 'extra': nn.Identity()},
               tmp_path / 'module.pth')
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(tmp_path / 'module.pth')
    assert str(info.value).endswith(
        'Details: the file needs torch.nn.modules.linear.Identity, which '
        'the allow-list lacks')


def test_check_model_checkpoint_counts_what_fits():
    model = tiny()
    extra = dict(filled(1.0), **{'head.w': torch.zeros(2)})
    summary = check_model_checkpoint(model, {'state_dict': extra}, 'a.pth')
    assert (summary['loaded'], summary['total']) == (7, 8)
    assert summary['ignored_groups'] == ['head.*']
    wrong = dict(filled(1.0), **{'0.weight': torch.zeros(3, 2, 2)})
    del wrong['1.bias']
    with pytest.raises(CheckpointMismatchError) as info:
        check_model_checkpoint(model, wrong, 'b.pth')
    message = str(info.value)
    assert "'b.pth' does not match the Sequential of the config: 5 of 7 of " \
        "its tensors fit; 1 missing: '1.bias'; 1 with other shapes: " \
        "'0.weight: checkpoint (3, 2, 2) vs model (3, 2, 1)'" in message
    assert '\n' not in message


def test_rename_keys_prefix_exact_and_under_a_prefix():
    state = {'m.head.weight': 1, 'm.head.loss_module.queue': 2,
             'm.contrast.queue': 3, 'other.head.weight': 4}
    pairs = rename_keys(state, {'head.weight': 'projector.fc.weight',
                                'contrast.': 'head.loss_module.'}, 'm.')
    # exact entry renamed; the prefix entry's target exists: left alone;
    # keys outside the prefix untouched
    assert state == {'m.projector.fc.weight': 1,
                     'm.head.loss_module.queue': 2,
                     'm.contrast.queue': 3, 'other.head.weight': 4}
    assert pairs == [('m.head.weight', 'm.projector.fc.weight')]
    state = {'level_heads.0.w': 1, 'level_heads_x': 2, 'queue': 3}
    rename_keys(state, {'level_heads.': 'level_necks.',
                        'queue': 'proto_head.queue'})
    assert state == {'level_necks.0.w': 1, 'level_heads_x': 2,
                     'proto_head.queue': 3}


def test_upgrade_state_dict_uses_the_module_hook_and_copies():
    class Renamed(nn.Module):
        def upgrade_legacy_state(self, state, prefix=''):
            rename_keys(state, {'old.': 'new.'}, prefix)

    state = {'old.w': torch.zeros(1)}
    assert set(upgrade_state_dict(Renamed(), state)) == {'new.w'}
    assert set(state) == {'old.w'}  # the caller's dict is not changed
    assert upgrade_state_dict(tiny(), state) == state
