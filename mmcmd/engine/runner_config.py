"""Config adjustments shared by tools/train.py and tools/test.py.

Each function takes an mmengine ``Config`` before the Runner is built and
returns it, changed in place: a smoke run of any config, loader settings
that torch accepts, and settings that follow the machine (SyncBN needs
CUDA; the distributed backend actually used is recorded).
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict

from mmengine.config import Config

#: the loaders of an mmengine config.
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: videos per annotation list of a smoke run (``--smoke`` without N).
SMOKE_SAMPLES = 8


def limit_dataset(dataset: Dict[str, Any], num: int) -> None:
    """Keep the first ``num`` samples of a dataset config (its first ``num``
    annotation lines), through retrieval and mmengine dataset wrappers."""
    if 'gallery' in dataset and 'query' in dataset:  # VideoRetrievalDataset
        limit_dataset(dataset['gallery'], num)
        limit_dataset(dataset['query'], num)
    elif isinstance(dataset.get('datasets', None), (list, tuple)):
        for part in dataset['datasets']:
            limit_dataset(part, num)
    elif isinstance(dataset.get('dataset', None), dict):  # e.g. RepeatDataset
        limit_dataset(dataset['dataset'], num)
    else:
        dataset['indices'] = num


def smoke_batch_size(batch_size: int, num: int, world_size: int = 1) -> int:
    """Training batch per process of a smoke run on ``num`` videos.

    The ``num`` videos are shared by ``world_size`` processes, so each
    process gets ``num // world_size`` of them (at least 1): with the
    batch capped there, ``num`` videos give one full step on every process
    whatever the number of processes (``tools/dist_train.sh CONFIG 2
    --smoke`` needs the same 8 videos as one process).

    Args:
        batch_size: the config's batch per process.
        num: videos of the smoke run (``--smoke N``).
        world_size: number of training processes.
    """
    return max(1, min(int(batch_size), num // max(1, world_size)))


def smoke_config(cfg: Config, num: int = SMOKE_SAMPLES,
                 training: bool = True, world_size: int = 1) -> Config:
    """Shrink a config to a smoke run, consistently.

    Every loader: the first ``num`` videos of its dataset, no worker
    processes; a log line per iteration. With ``training``: a training
    batch per process of at most ``num / world_size``
    (:func:`smoke_batch_size`; one iteration when that is <= the batch),
    one epoch (or ``num`` iterations of an iteration-based loop),
    validation after it and one checkpoint at the end, the model without
    optimizer state (mmengine's ``CheckpointHook``: ``save_optimizer=False``,
    ``max_keep_ckpts=1``, no ``save_best`` copy). Without: only the test
    loader is touched.

    Args:
        cfg: the config, changed in place.
        num: videos per dataset (annotation list).
        training: shrink the training loop too (tools/train.py).
        world_size: number of training processes sharing the ``num``
            videos.
    """
    names = LOADERS if training else ('test_dataloader', )
    for name in names:
        loader = cfg.get(name, None)
        if not loader:
            continue
        loader.num_workers = 0
        loader.persistent_workers = False
        if name == 'train_dataloader':
            loader.batch_size = smoke_batch_size(loader.batch_size, num,
                                                 world_size)
        limit_dataset(loader.dataset, num)
    hooks = cfg.get('default_hooks', {})
    if 'logger' in hooks:
        hooks.logger.interval = 1
    if not training:
        return cfg
    train_cfg = cfg.get('train_cfg', None)
    if train_cfg:
        if 'max_iters' in train_cfg:
            train_cfg.max_iters = num
        else:
            train_cfg.max_epochs = 1
        if 'val_interval' in train_cfg:
            train_cfg.val_interval = 1
    if 'checkpoint' in hooks:
        hooks.checkpoint.interval = 1
        hooks.checkpoint.max_keep_ckpts = 1
        if hooks.checkpoint.get('type', 'CheckpointHook') in (
                'CheckpointHook', 'mmengine.CheckpointHook'):
            hooks.checkpoint.save_optimizer = False
            hooks.checkpoint.save_best = None
    log_processor = cfg.get('log_processor', None)
    if log_processor:
        log_processor.window_size = 1
    return cfg


def fix_worker_settings(cfg: Config) -> Config:
    """``persistent_workers`` only where there are workers to keep: a
    shipped config's ``persistent_workers=True`` with ``num_workers=0``
    (e.g. from --cfg-options) makes torch's DataLoader refuse to start."""
    for name in LOADERS:
        loader = cfg.get(name, None)
        if loader and not loader.get('num_workers', 0):
            loader.persistent_workers = False
    return cfg


def adapt_to_device(cfg: Config) -> Config:
    """Drop GPU-only settings when no GPU is present (SyncBN needs CUDA),
    and record the distributed backend that will be used (gloo without CUDA,
    ``MMCMD_DIST_BACKEND`` when set), so the logged config says it."""
    import torch
    cuda = torch.cuda.is_available()
    if not cuda and cfg.get('sync_bn', None):
        print('mmcmd: no GPU found, using per-process BatchNorm instead of '
              'SyncBN', file=sys.stderr)
        cfg.sync_bn = None
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    backend = os.environ.get('MMCMD_DIST_BACKEND',
                             dist_cfg.get('backend', 'nccl'))
    if not cuda and backend == 'nccl':
        backend = 'gloo'
    cfg.merge_from_dict(dict(env_cfg=dict(dist_cfg=dict(backend=backend))))
    for name in LOADERS:
        if cfg.get(name, None):
            unpin_without_accelerator(cfg[name])
    set_main_threads(cfg)
    return cfg


def unpin_without_accelerator(loader: Dict[str, Any]) -> Dict[str, Any]:
    """Turn a loader config's ``pin_memory`` off where there is no GPU
    (pinned memory needs an accelerator; torch only warns); return it."""
    import torch
    if loader.get('pin_memory', False) and not torch.cuda.is_available():
        loader['pin_memory'] = False
    return loader


def main_threads(setting: Any, default: int) -> int:
    """Torch threads of the training process for ``env_cfg.main_threads``.

    ``'torch'`` (the default) keeps torch's own count (one per core), also
    when loader workers share the cores: on one H200 with 16 cores and 16
    workers, the UCF101 CMD recipe's iteration took 99 ms with 16 main
    threads and 165 ms with 1 (docs/performance.md, "The training loop").
    A positive int sets the count, for machines where that measurement
    comes out otherwise (``tools/analysis/benchmark_loop.py
    --main-threads N`` measures it).

    Args:
        setting: ``'torch'`` or a positive int.
        default: torch's thread count before any setting.
    """
    if setting == 'torch':
        return default
    if isinstance(setting, bool) or not isinstance(setting, int) or \
            setting < 1:
        raise ValueError(f"env_cfg.main_threads must be 'torch' or a "
                         f'positive int, got {setting!r}')
    return setting


def set_main_threads(cfg: Config) -> int:
    """Apply ``env_cfg.main_threads`` (see :func:`main_threads`) to this
    process with ``torch.set_num_threads``; return the thread count."""
    import torch
    setting = cfg.get('env_cfg', {}).get('main_threads', 'torch')
    threads = main_threads(setting, torch.get_num_threads())
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads


def niced_worker_init_fn(worker_id: int, num_workers: int, rank: int,
                         seed: int, disable_subprocess_warning: bool = False,
                         nice: int = 0) -> None:
    """mmengine's loader-worker initialisation (the same seeds) in a worker
    process whose scheduling priority is lowered by ``nice``."""
    from mmengine.dataset import worker_init_fn
    if nice > 0 and hasattr(os, 'nice'):
        os.nice(nice)  # raising one's own niceness needs no privilege
    worker_init_fn(worker_id, num_workers, rank, seed,
                   disable_subprocess_warning)


def worker_nice(cfg: Config) -> int:
    """``env_cfg.loader_worker_nice``: how much lower the training loader's
    worker processes run than the training process (0: the same)."""
    nice = cfg.get('env_cfg', {}).get('loader_worker_nice', 0)
    if isinstance(nice, bool) or not isinstance(nice, int) or \
            not 0 <= nice <= 19:
        raise ValueError('env_cfg.loader_worker_nice must be an int in '
                         f'0..19, got {nice!r}')
    return nice


def prioritise_training_process(runner) -> bool:
    """Give the training process the cores first: the training loader's
    workers run ``env_cfg.loader_worker_nice`` steps lower (POSIX
    niceness), seeded exactly as mmengine seeds them.

    The workers only need to keep up on average, while the training
    process is the critical path of every iteration: its data
    preprocessor, and on a GPU the thread that launches the step's kernels.
    On cores shared with the workers that process otherwise waits for them
    (docs/performance.md, "The training loop"). Workers still get every
    core the training process leaves idle.

    Acts on a Runner whose train loader is not built yet (``build_runner``
    calls it), with workers and no ``worker_init_fn`` of the config's own;
    returns whether it did.
    """
    nice = worker_nice(runner.cfg)
    loader = runner._train_dataloader
    if not nice or not isinstance(loader, dict) or \
            not loader.get('num_workers') or 'worker_init_fn' in loader:
        return False
    loader = dict(loader)  # the runner's config (dumped, saved) unchanged
    loader['worker_init_fn'] = dict(
        type=niced_worker_init_fn, num_workers=loader['num_workers'],
        rank=runner.rank, seed=runner.seed,
        disable_subprocess_warning=loader.pop('disable_subprocess_warning',
                                              False),
        nice=nice)
    runner._train_dataloader = loader
    return True


def build_runner(cfg: Config):
    """The Runner named by ``runner_type``, or mmengine's default one, with
    a :class:`~mmcmd.engine.hooks.CheckpointFitHook` (a test or validation
    run refuses a checkpoint that does not fit the model) and its training
    loader's workers below the training process
    (:func:`prioritise_training_process`)."""
    from mmaction.registry import RUNNERS
    from mmengine.runner import Runner

    from mmcmd.engine.hooks import CheckpointFitHook
    runner = (RUNNERS.build(cfg) if 'runner_type' in cfg
              else Runner.from_cfg(cfg))
    if not any(isinstance(h, CheckpointFitHook) for h in runner.hooks):
        runner.register_hook(CheckpointFitHook())
    prioritise_training_process(runner)
    return runner
