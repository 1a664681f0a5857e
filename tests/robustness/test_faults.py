"""Faults lose nothing: SIGKILL after a checkpoint, then --resume; a dying
dataloader worker gives a clear message."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from suite_utils import REPO_ROOT, run_tool

import mmcmd  # noqa: F401  (allow-lists mmengine checkpoint types)

#: launches tools as subprocesses or trains several models.
pytestmark = pytest.mark.slow

CFGS = REPO_ROOT / 'tests' / 'configs'
TRAIN = REPO_ROOT / 'tools' / 'train.py'
ITERS_PER_EPOCH = 3  # 6 videos, batch 2


def test_sigkill_after_checkpoint_then_resume(tiny_dataset):
    work = tiny_dataset / 'work'
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(TRAIN), str(CFGS / 'tiny_recognizer3d.py'),
         '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1000'],
        cwd=str(tiny_dataset), env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    try:
        while not (work / 'last_checkpoint').is_file():
            assert proc.poll() is None, 'training ended before checkpointing'
            assert time.time() < deadline, 'no checkpoint within 240 s'
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    latest = (work / 'last_checkpoint').read_text().strip()
    saved_epoch = int(re.search(r'epoch_(\d+)\.pth', latest).group(1))
    assert torch.load(latest, weights_only=True)['meta']['iter'] == \
        saved_epoch * ITERS_PER_EPOCH

    final_epoch = saved_epoch + 2
    resumed = run_tool([sys.executable, TRAIN, CFGS / 'tiny_recognizer3d.py',
                        '--work-dir', work, '--resume', '--cfg-options',
                        f'train_cfg.max_epochs={final_epoch}'], tiny_dataset)
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert f'resumed epoch: {saved_epoch}, ' \
           f'iter: {saved_epoch * ITERS_PER_EPOCH}' in log
    # the resumed run trains exactly the epochs that were missing
    epochs = {int(e) for e in re.findall(r'Epoch\(train\) \[(\d+)\]', log)}
    assert epochs == {saved_epoch + 1, final_epoch}
    final = torch.load(str(work / f'epoch_{final_epoch}.pth'),
                       weights_only=True)
    # same final iteration and samples seen as an uninterrupted run
    assert final['meta']['iter'] == final_epoch * ITERS_PER_EPOCH
    assert final['message_hub']['runtime_info']['iter'] == \
        final_epoch * ITERS_PER_EPOCH - 1


def test_dying_dataloader_worker_gives_clear_message(tiny_dataset):
    result = run_tool(
        [sys.executable, TRAIN, CFGS / 'tiny_recognizer3d_dying_worker.py',
         '--work-dir', tiny_dataset / 'w'], tiny_dataset,
        env=dict(PYTHONPATH=f'{REPO_ROOT}{os.pathsep}'
                 f'{REPO_ROOT / "tests" / "robustness" / "plugins"}'))
    assert result.returncode == 3, result.stderr[-3000:]
    assert 'a dataloader worker process died' in result.stderr
    assert '--resume' in result.stderr
