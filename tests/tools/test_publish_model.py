"""tools/deployment/publish_model.py: stripped, hash-named, weights-only."""
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from suite_utils import load_tool

import mmcmd  # noqa: F401  (lets weights-only loading read mmengine files)


def _tool():
    return load_tool('tools/deployment/publish_model.py')


def _training_checkpoint(path: Path) -> dict:
    """What mmengine's CheckpointHook saves (optimizer, hub, schedulers)."""
    model = torch.nn.Sequential(torch.nn.Conv3d(3, 4, 3),
                                torch.nn.BatchNorm3d(4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 3, 5, 5)).sum().backward()
    optimizer.step()
    buffer = HistoryBuffer()
    buffer.update(1.5)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    checkpoint = dict(
        meta=dict(epoch=120, iter=4000, cfg='model = dict()', seed=7,
                  experiment_name='x', time='today', hook_msgs={},
                  mmengine_version='0.10.7', dataset_meta=dict(classes=['a']),
                  seed_array=np.arange(3)),
        state_dict=state, optimizer=optimizer.state_dict(),
        message_hub=dict(log_scalars={'train/loss': buffer}),
        param_schedulers=[dict(last_epoch=120)], ema_state_dict=state)
    torch.save(checkpoint, path)
    return state


def test_publish_strips_and_names_by_hash(tmp_path, capsys):
    state = _training_checkpoint(tmp_path / 'epoch_120.pth')
    out = tmp_path / 'zoo' / 'cmd_tiny'
    assert _tool().main([str(tmp_path / 'epoch_120.pth'), str(out)]) == 0
    final = capsys.readouterr().out.strip()
    digest = hashlib.sha256(Path(final).read_bytes()).hexdigest()
    assert final == f'{out}-{digest[:8]}.pth' and os.path.isfile(final)
    assert len(os.listdir(tmp_path / 'zoo')) == 1  # no temporary left
    published = torch.load(final, weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    assert published['meta'] == dict(epoch=120, iter=4000,
                                     mmengine_version='0.10.7',
                                     dataset_meta=dict(classes=['a']))
    assert published['state_dict'].keys() == state.keys()
    assert all(torch.equal(published['state_dict'][k], v)
               for k, v in state.items())
    assert os.path.getsize(final) < os.path.getsize(tmp_path / 'epoch_120.pth')
    # An OUT ending in .pth gets the hash before the extension.
    assert _tool().main([str(tmp_path / 'epoch_120.pth'),
                         str(tmp_path / 'named.pth')]) == 0
    assert capsys.readouterr().out.strip().endswith(f'named-{digest[:8]}.pth')


class _Payload:
    """Pickles to a call of os.system (what a crafted checkpoint does)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_publish_refuses_crafted_checkpoint(tmp_path, capsys):
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'w': torch.zeros(1)},
                'meta': _Payload(str(marker))}, tmp_path / 'evil.pth')
    assert _tool().main([str(tmp_path / 'evil.pth'),
                         str(tmp_path / 'out')]) == 1
    err = capsys.readouterr().err
    assert 'Refused to load checkpoint' in err and 'evil.pth' in err
    assert not marker.exists() and list(tmp_path.iterdir()) == [
        tmp_path / 'evil.pth']
