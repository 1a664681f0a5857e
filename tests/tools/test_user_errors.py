"""Every user error of tools/train.py and tools/test.py is one line on
stderr and a non-zero exit, before the Runner prints the config (except a
broken video, found while loading); --debug gives the traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from suite_utils import REPO_ROOT

#: launches the tools as users do.
pytestmark = pytest.mark.slow

CONFIGS = REPO_ROOT / 'tests' / 'configs'
TRAIN = str(REPO_ROOT / 'tools' / 'train.py')
TEST = str(REPO_ROOT / 'tools' / 'test.py')
TINY = str(CONFIGS / 'tiny_recognizer3d.py')
FINETUNE = str(CONFIGS / 'tiny_finetune.py')
SYNTHETIC_CMD = str(REPO_ROOT / 'configs' / 'synthetic' /
                    'cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py')

#: name -> (tool argv, the line's start, where it stops: before the
#: config dump or while loading videos)
CASES = {
    'missing list': (
        [TRAIN, TINY, '--cfg-options',
         'train_dataloader.dataset.ann_file=data/tiny/nope.txt'],
        'error: annotation list not found: data/tiny/nope.txt', True),
    'missing checkpoint': (
        [TEST, TINY, 'work/nope.pth'],
        'error: checkpoint not found: work/nope.pth', True),
    'cfg-options typo': (
        [TRAIN, TINY, '--cfg-options', 'trian_dataloader.batch_size=4'],
        "error: unknown key 'trian_dataloader' in --cfg-options", True),
    'cfg-options wrong kind': (
        [TRAIN, TINY, '--cfg-options', 'train_dataloader.batch_size=four'],
        "error: --cfg-options train_dataloader.batch_size='four': the "
        'config holds a number', True),
    'too few videos': (  # 6 videos, batch 16
        [TRAIN, SYNTHETIC_CMD, '--cfg-options',
         'train_dataloader.dataset.ann_file=data/tiny/train.txt',
         'train_dataloader.dataset.data_prefix.video=data/tiny/videos'],
        'error: the training set data/tiny/train.txt has 6 videos, fewer '
        'than one batch of 16', True),
    'finetune without weights': (
        [TRAIN, FINETUNE],
        'error: no pretrained checkpoint for model.backbone: set '
        '--cfg-options pretrained=', True),
    'missing pretrained file': (
        [TRAIN, FINETUNE, '--cfg-options', 'pretrained=work/nope.pth'],
        'error: checkpoint not found: work/nope.pth (pretrained)', True),
    'non-video file': (
        [TRAIN, FINETUNE, '--cfg-options', 'from_scratch=True',
         'train_dataloader.dataset.ann_file=data/tiny/bad.txt'],
        'error: RuntimeError: CMDVideoDataset: sample 0 and', False),
}


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    """A working folder with data/tiny and a list of non-video files."""
    from suite_utils import make_tiny_dataset
    root = tmp_path_factory.mktemp('user_errors')
    data = make_tiny_dataset(root)
    (data / 'videos' / 'notes.mp4').write_text('not a video\n')
    (data / 'bad.txt').write_text('notes.mp4 0\nnotes.mp4 1\n')
    return root


def launch_all(root, runs: dict) -> dict:
    """Start every command of ``runs`` (name -> (argv, extra env)) at once,
    as run_tool would, and return name -> CompletedProcess: the launches
    overlap, so the walk costs about one start-up per core."""
    base = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    procs = {name: subprocess.Popen(
        [str(a) for a in argv], cwd=str(root), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dict(base, **env))
        for name, (argv, env) in runs.items()}
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        results[name] = subprocess.CompletedProcess(proc.args,
                                                    proc.returncode, out, err)
    return results


@pytest.fixture(scope='module')
def outcomes(root) -> dict:
    """Every case and the two --debug runs, launched together."""
    runs = {name: ([sys.executable, *argv, '--work-dir',
                    root / 'work' / name.replace(' ', '_')], {})
            for name, (argv, _, _) in CASES.items()}
    debug = [sys.executable, TRAIN, TINY, '--work-dir', root / 'work' /
             'debug', '--cfg-options', 'train_dataloader.batch_size=four']
    runs['--debug'] = (debug + ['--debug'], {})
    runs['MMCMD_DEBUG'] = (debug, dict(MMCMD_DEBUG='1'))
    return launch_all(root, runs)


@pytest.mark.parametrize('case', list(CASES))
def test_user_error_is_one_line(outcomes, case):
    _, start, early = CASES[case]
    result = outcomes[case]
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stderr[-3000:]
    assert 1 <= len(lines) <= 3, result.stderr[-3000:]
    assert lines[-1].startswith(start), result.stderr[-3000:]
    if early:  # stopped before the Runner logs environment and config
        assert 'Config:' not in result.stdout, result.stdout[-3000:]
    if 'RuntimeError' in start:  # the broken file is named
        assert 'notes.mp4' in lines[-1]


def test_debug_shows_the_traceback(outcomes):
    result = outcomes['--debug']
    assert result.returncode != 0
    assert 'Traceback (most recent call last)' in result.stderr
    assert 'ConfigOptionError' in result.stderr
    assert ('Traceback (most recent call last)'
            in outcomes['MMCMD_DEBUG'].stderr)
