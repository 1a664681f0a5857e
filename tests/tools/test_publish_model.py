"""tools/deployment/publish_model.py: stripped, hash-named, weights-only."""
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from suite_utils import REPO_ROOT, load_tool, run_tool

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


def test_publish_what_train_writes_in_a_fresh_process(tiny_dataset):
    """The user's two commands: tools/train.py, then publish_model.py in a
    new interpreter (mmengine not imported before the checkpoint is read).
    """
    work = tiny_dataset / 'work'
    trained = run_tool([sys.executable, REPO_ROOT / 'tools/train.py',
                        REPO_ROOT / 'tests/configs/tiny_recognizer3d.py',
                        '--work-dir', work, '--cfg-options',
                        'train_cfg.max_epochs=1'], tiny_dataset)
    assert trained.returncode == 0, trained.stderr[-3000:]
    publish = [sys.executable, REPO_ROOT / 'tools/deployment/publish_model.py']
    result = run_tool(publish + [work / 'epoch_1.pth',
                                 'checkpoints/tiny'], tiny_dataset)
    assert result.returncode == 0, result.stderr[-3000:]
    final = tiny_dataset / result.stdout.strip()
    published = torch.load(final, weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    assert published['meta']['epoch'] == 1
    assert 'backbone.conv1.conv.weight' in published['state_dict']

    notes = tiny_dataset / 'notes.txt'
    notes.write_text('not a checkpoint\n' * 20)
    result = run_tool(publish + [notes, 'checkpoints/notes'], tiny_dataset)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {str(notes)!r} is not a checkpoint (neither the zip archive "
        'nor the pickle that torch.save writes); give a .pth file written '
        'by torch.save, e.g. work_dirs/<config>/epoch_N.pth of '
        'tools/train.py.']
    assert 'could run code' not in result.stderr
    assert sorted(os.listdir(tiny_dataset / 'checkpoints')) == [final.name]


def test_refusal_names_the_global_in_full(tmp_path, capsys):
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': _Payload('x')},
               tmp_path / 'evil.pth')
    assert _tool().main([str(tmp_path / 'evil.pth'),
                         str(tmp_path / 'out')]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.endswith(f'Details: the file needs {os.system.__module__}'
                        '.system, which the allow-list lacks')
