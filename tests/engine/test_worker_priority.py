"""The training loader's workers below the training process
(``env_cfg.loader_worker_nice``), seeded exactly as mmengine seeds them."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from suite_utils import REPO_ROOT

from mmcmd.engine.runner_config import (
    build_runner,
    niced_worker_init_fn,
    worker_nice,
)

pytestmark = pytest.mark.skipif(not hasattr(os, 'nice'),
                                reason='POSIX niceness')


class WorkerState(torch.utils.data.Dataset):
    """Each sample: the niceness of the process that made it and one draw
    of each random generator a pipeline uses."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        return dict(nice=os.nice(0), np=int(np.random.randint(1 << 30)),
                    py=random.random(), torch=int(torch.randint(1 << 30, ())))


def samples(worker_init_fn=None) -> list:
    cfg = dict(batch_size=1, num_workers=2, dataset=WorkerState(),
               sampler=dict(type='DefaultSampler', shuffle=False))
    if worker_init_fn:
        cfg['worker_init_fn'] = worker_init_fn
    loader = Runner.build_dataloader(cfg, seed=7)
    # pseudo_collate: a dict of one-element lists per batch
    return [{key: value[0] for key, value in batch.items()}
            for batch in loader]


def test_niced_workers_draw_mmengines_numbers():
    stock = samples()
    niced = samples(dict(type=niced_worker_init_fn, num_workers=2, rank=0,
                         seed=7, nice=5))
    base = os.nice(0)
    assert [s['nice'] for s in stock] == [base] * 4
    assert [s['nice'] for s in niced] == [min(base + 5, 19)] * 4
    for key in ('np', 'py', 'torch'):
        assert [s[key] for s in niced] == [s[key] for s in stock]
    # the two workers draw different numbers (seeded by worker id)
    assert stock[0]['np'] != stock[1]['np']


def tiny_runner_cfg(tmp_path, **env) -> Config:
    cfg = Config.fromfile(str(REPO_ROOT / 'tests' / 'configs' /
                              'tiny_cmd_pretrain.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.num_workers = 2
    cfg.train_dataloader.persistent_workers = False
    cfg.env_cfg.update(env)
    return cfg


def test_build_runner_lowers_the_training_workers(tmp_path):
    cfg = tiny_runner_cfg(tmp_path)
    assert worker_nice(cfg) == 10  # configs/_base_/default_runtime.py
    runner = build_runner(cfg)
    init = runner._train_dataloader['worker_init_fn']
    assert init['type'] is niced_worker_init_fn
    assert (init['nice'], init['num_workers'], init['rank'],
            init['seed']) == (10, 2, 0, runner.seed)
    # the runner's config, dumped and saved in checkpoints, is unchanged
    assert 'worker_init_fn' not in runner.cfg.train_dataloader
    assert 'niced_worker_init_fn' not in runner.cfg.pretty_text


def test_nice_zero_keeps_mmengines_workers(tmp_path):
    runner = build_runner(tiny_runner_cfg(tmp_path / 'a',
                                          loader_worker_nice=0))
    assert 'worker_init_fn' not in runner._train_dataloader


@pytest.mark.parametrize('value', [-1, 20, 2.5, True, '10'])
def test_a_bad_nice_is_refused(value):
    with pytest.raises(ValueError, match='loader_worker_nice'):
        worker_nice(Config(dict(env_cfg=dict(loader_worker_nice=value))))
