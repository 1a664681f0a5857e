"""tools/train.py, tools/test.py and tools/dist_train.sh on real videos."""
from __future__ import annotations

import os
import sys

import pytest
import torch
from suite_utils import REPO_ROOT, free_port, run_tool

#: launches tools as subprocesses or trains several models.
pytestmark = pytest.mark.slow

TINY = str(REPO_ROOT / 'tests' / 'configs' / 'tiny_recognizer3d.py')


def write_evil_checkpoint(path, marker) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, (f'touch {marker}',))
    torch.save({'state_dict': {}, 'meta': Evil()}, str(path))


def test_train_resume_test_with_weights_only(tiny_dataset):
    work = tiny_dataset / 'work'
    train = [sys.executable, str(REPO_ROOT / 'tools/train.py'), TINY,
             '--work-dir', str(work)]
    first = run_tool(train, tiny_dataset)
    assert first.returncode == 0, first.stderr[-3000:]
    assert (work / 'epoch_2.pth').is_file()

    resumed = run_tool(train + ['--resume', '--cfg-options',
                                'train_cfg.max_epochs=3'], tiny_dataset)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 2, iter: 6' in log
    assert 'Epoch(train) [1]' not in log  # did not start over
    assert (work / 'epoch_3.pth').is_file()

    test = run_tool([sys.executable, str(REPO_ROOT / 'tools/test.py'), TINY,
                     str(work / 'epoch_3.pth'), '--work-dir', str(work),
                     '--dump', str(work / 'preds.pkl')], tiny_dataset)
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'acc/top1' in test.stdout + test.stderr
    assert (work / 'preds.pkl').is_file()


def test_checkpoint_saved_by_runner_loads_weights_only(tiny_dataset):
    from mmengine.logging import HistoryBuffer

    import mmcmd  # noqa: F401  (allow-list)
    work = tiny_dataset / 'work'
    result = run_tool([sys.executable, str(REPO_ROOT / 'tools/train.py'),
                       TINY, '--work-dir', str(work), '--cfg-options',
                       'train_cfg.max_epochs=1'], tiny_dataset)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = torch.load(str(work / 'epoch_1.pth'), weights_only=True)
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    assert ckpt['meta']['epoch'] == 1


@pytest.mark.parametrize('tool', ['resume', 'test', 'load_from'])
def test_crafted_checkpoint_is_refused(tiny_dataset, tool):
    evil = tiny_dataset / 'evil.pth'
    marker = tiny_dataset / 'pwned'
    write_evil_checkpoint(evil, marker)
    if tool == 'test':
        args = [str(REPO_ROOT / 'tools/test.py'), TINY, str(evil)]
    else:
        flag = (['--resume', str(evil)] if tool == 'resume' else
                ['--cfg-options', f'load_from={evil}'])
        args = [str(REPO_ROOT / 'tools/train.py'), TINY] + flag
    result = run_tool([sys.executable] + args + ['--work-dir',
                      str(tiny_dataset / 'w')], tiny_dataset)
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Refused to load checkpoint' in result.stderr
    assert str(evil) in result.stderr
    assert not marker.exists()


def test_mmengine_load_checkpoint_refuses_crafted_file(tmp_path):
    from mmengine.runner import load_checkpoint

    import mmcmd  # noqa: F401
    from mmcmd.utils import UnsafeCheckpointError
    evil, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    write_evil_checkpoint(evil, marker)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        load_checkpoint(torch.nn.Linear(1, 1), str(evil))
    assert not marker.exists()


def test_dist_train_two_cpu_processes(tiny_dataset):
    work = tiny_dataset / 'dist'
    result = run_tool(
        ['bash', str(REPO_ROOT / 'tools/dist_train.sh'), TINY, '2',
         '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1'],
        tiny_dataset, env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    assert result.returncode == 0, result.stderr[-4000:]
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log
    # 6 videos, batch 2 per process, 2 processes -> 2 iterations per epoch
    assert 'Epoch(train) [1][2/2]' in log
    assert (work / 'epoch_1.pth').is_file()
