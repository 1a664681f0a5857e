"""skip_bad_videos + BadVideoMonitorHook: broken files never stop training."""
from __future__ import annotations

import re
import sys

import numpy as np
from suite_utils import REPO_ROOT, run_tool

CFG = str(REPO_ROOT / 'tests' / 'configs' / 'tiny_recognizer3d_skip_bad.py')


def add_broken_videos(root):
    data = root / 'data' / 'tiny'
    (data / 'videos' / 'broken').mkdir(parents=True)
    (data / 'videos' / 'broken' / 'empty.mp4').write_bytes(b'')
    (data / 'videos' / 'broken' / 'garbage.mp4').write_bytes(
        np.random.default_rng(0).bytes(5000))
    with open(data / 'train.txt', 'a') as f:
        f.write('broken/empty.mp4 0\nbroken/garbage.mp4 1\n')
    return data


def build_skipping(root, seed=0):
    from mmaction.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmcmd  # noqa: F401
    cfg = Config.fromfile(CFG)
    cfg.train_dataloader.dataset.skip_bad_videos.seed = seed
    import os
    old = os.getcwd()
    os.chdir(root)
    try:
        with DefaultScope.overwrite_default_scope('mmaction'):
            return DATASETS.build(cfg.train_dataloader.dataset)
    finally:
        os.chdir(old)


def test_bad_samples_are_replaced_deterministically(tiny_dataset):
    add_broken_videos(tiny_dataset)
    import os
    os.chdir(tiny_dataset)
    first, second = build_skipping(tiny_dataset), build_skipping(tiny_dataset)
    assert len(first) == 8
    bad = [i for i in range(8) if 'broken' in first.video_path(i)]
    assert len(bad) == 2
    for idx in range(8):
        np.random.seed(idx)  # SampleFrames draws its offsets from np.random
        a = first[idx]
        np.random.seed(idx)
        b = second[idx]
        assert a['inputs'].shape == (1, 3, 4, 32, 32)
        assert np.array_equal(a['inputs'].numpy(), b['inputs'].numpy())
        skipped = a['data_samples'].metainfo['skipped_videos']
        if idx in bad:
            assert skipped and skipped[0][0] == first.video_path(idx)
            assert first.replacement(idx, 0) == second.replacement(idx, 0)
        else:
            assert skipped == []


def test_training_survives_broken_videos(tiny_dataset):
    add_broken_videos(tiny_dataset)
    result = run_tool([sys.executable, REPO_ROOT / 'tools/train.py', CFG,
                       '--work-dir', tiny_dataset / 'w', '--cfg-options',
                       'train_cfg.max_epochs=1'], tiny_dataset)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'bad video skipped' in log and 'garbage.mp4' in log
    assert 'skipped_videos' in log
    found = re.search(r'epoch 1: skipped (\d+) bad video loads of (\d+)', log)
    skipped, loaded = int(found.group(1)), int(found.group(2))
    assert skipped >= 2 and loaded - skipped == 8  # every sample delivered
    assert (tiny_dataset / 'w' / 'epoch_1.pth').is_file()


def test_too_many_bad_videos_abort_with_clear_message(tiny_dataset):
    add_broken_videos(tiny_dataset)
    result = run_tool([sys.executable, REPO_ROOT / 'tools/train.py', CFG,
                       '--work-dir', tiny_dataset / 'w', '--cfg-options',
                       'custom_hooks.0.max_bad_ratio=0.01'], tiny_dataset)
    assert result.returncode != 0
    assert 'max_bad_ratio' in result.stderr
    assert 'check_videos.py' in result.stderr
