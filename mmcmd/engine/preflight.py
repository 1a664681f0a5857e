"""Checks of a merged config before tools/train.py and tools/test.py build
the Runner.

The Runner logs the environment and the whole config (hundreds of lines)
before it builds datasets, loads checkpoints or runs hooks, so an error
there comes after a long dump and a traceback. These checks look at the
config alone, are cheap (no video is opened) and stop with one line
(``SystemExit('error: ...')``, exit status 1): a missing annotation list
or video folder, a missing checkpoint file, a training list smaller than
one batch, a finetuning config without its pretraining checkpoint.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config

#: environment variables that hold the number of processes per launcher.
WORLD_SIZE_ENV = {'pytorch': ('WORLD_SIZE', ),
                  'slurm': ('SLURM_NTASKS', 'WORLD_SIZE'),
                  'mpi': ('OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'WORLD_SIZE')}


def launcher_world_size(launcher: Optional[str]) -> int:
    """Number of processes of this run, read before the process group
    exists (torchrun's ``WORLD_SIZE``, slurm's ``SLURM_NTASKS``, ...).

    Args:
        launcher: ``none``, ``pytorch``, ``slurm`` or ``mpi``.
    """
    for name in WORLD_SIZE_ENV.get(launcher or 'none', ()):
        value = os.environ.get(name, '')
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def is_remote(path: str) -> bool:
    """A URL or a storage backend path (``s3://``, ``open-mmlab://``)."""
    return '://' in str(path)


def leaf_datasets(dataset: Any,
                  where: str) -> Iterator[Tuple[str, Mapping]]:
    """The dataset configs that read an annotation list, with their key
    path, through retrieval sets (gallery and query) and mmengine
    wrappers (``dataset``, ``datasets``).

    Args:
        dataset: a dataset config.
        where: its key path, e.g. ``train_dataloader.dataset``.
    """
    if not isinstance(dataset, Mapping):
        return
    if 'gallery' in dataset and 'query' in dataset:
        yield from leaf_datasets(dataset['gallery'], f'{where}.gallery')
        yield from leaf_datasets(dataset['query'], f'{where}.query')
    elif isinstance(dataset.get('datasets', None), (list, tuple)):
        for i, part in enumerate(dataset['datasets']):
            yield from leaf_datasets(part, f'{where}.datasets.{i}')
    elif isinstance(dataset.get('dataset', None), Mapping):
        yield from leaf_datasets(dataset['dataset'], f'{where}.dataset')
    else:
        yield where, dataset


def _under_root(dataset: Mapping, path: str) -> str:
    """``path`` joined to the dataset's ``data_root`` as mmengine does."""
    root = dataset.get('data_root', None) or ''
    if root and path and not osp.isabs(path) and not is_remote(path):
        return osp.join(root, path)
    return path


def check_data_files(cfg: Config, loaders: Sequence[str]) -> None:
    """Every annotation list and video folder of ``loaders`` exists.

    Args:
        cfg: the merged config.
        loaders: names of the loaders the run builds.

    Raises:
        SystemExit: ``error: annotation list not found: ...`` naming the
            key to override.
    """
    for name in loaders:
        loader = cfg.get(name, None)
        if not loader:
            continue
        for where, dataset in leaf_datasets(loader.get('dataset', None),
                                            f'{name}.dataset'):
            ann_file = dataset.get('ann_file', None)
            if isinstance(ann_file, str) and ann_file:
                path = _under_root(dataset, ann_file)
                if not is_remote(path) and not osp.isfile(path):
                    raise SystemExit(
                        f'error: annotation list not found: {path} '
                        f'({where}.ann_file; relative paths start in '
                        'the current directory): build it (docs/datasets.md) '
                        f'or set --cfg-options {where}.ann_file=LIST')
            prefix = dataset.get('data_prefix', None)
            video = prefix.get('video', '') if isinstance(
                prefix, Mapping) else ''
            if isinstance(video, str) and video:
                path = _under_root(dataset, video)
                if not is_remote(path) and not osp.isdir(path):
                    raise SystemExit(
                        f'error: video folder not found: {path} '
                        f'({where}.data_prefix.video): set --cfg-options '
                        f'{where}.data_prefix.video=DIR')


def check_checkpoint_file(path: Optional[str], what: str) -> None:
    """A local checkpoint named on the command line or in the config exists.

    Args:
        path: the checkpoint; nothing is checked for None, '' and URLs.
        what: where it was given, for the message (``load_from``).

    Raises:
        SystemExit: ``error: checkpoint not found: PATH (what)``.
    """
    if not path or not isinstance(path, str) or is_remote(path):
        return
    if not osp.isfile(path):
        hint = ' (a folder: name the .pth file in it)' if osp.isdir(
            path) else ''
        raise SystemExit(f'error: checkpoint not found: {path} '
                         f'({what}){hint}')


def too_small_message(ann_file: str, num: int, batch: int, world: int,
                      drop_last: bool) -> str:
    """The one line for a training set that yields no full batch.

    Args:
        ann_file: the annotation list (or the dataset's name).
        num: videos in the training set.
        batch: batch size per process.
        world: number of processes.
        drop_last: the loader's ``drop_last``.
    """
    per = f' per process x {world} processes' if world > 1 else ''
    return (f'error: the training set {ann_file} has {num} videos, '
            f'fewer than one batch of {batch}{per} '
            f'(drop_last={drop_last}): add videos to the list, or lower '
            'the batch with --cfg-options train_dataloader.batch_size=N')


def count_list(path: str) -> int:
    """Non-empty lines of an annotation list."""
    with open(path, encoding='utf-8', errors='replace') as f:
        return sum(1 for line in f if line.strip())


def check_train_list_size(cfg: Config, world_size: int = 1) -> None:
    """The training list holds at least one full batch per process.

    Only a plain dataset (no wrapper) with a local list is counted, after
    its ``indices``; datasets that drop videos while loading are checked
    again, exactly, once the loader exists (tools/train.py).

    Args:
        cfg: the merged config.
        world_size: number of training processes.

    Raises:
        SystemExit: :func:`too_small_message`.
    """
    loader = cfg.get('train_dataloader', None)
    if not loader or not loader.get('drop_last', False):
        return
    dataset = loader.get('dataset', None)
    if not isinstance(dataset, Mapping) or any(
            key in dataset for key in ('dataset', 'datasets', 'gallery')):
        return
    ann_file = dataset.get('ann_file', None)
    if not isinstance(ann_file, str) or not ann_file:
        return
    path = _under_root(dataset, ann_file)
    if is_remote(path) or not osp.isfile(path):
        return
    num = count_list(path)
    indices = dataset.get('indices', None)
    if isinstance(indices, int):
        num = min(num, indices)
    elif isinstance(indices, (list, tuple)):
        num = min(num, len(indices))
    batch = int(loader.get('batch_size', 1))
    per_process = -(-num // max(world_size, 1))  # DefaultSampler rounds up
    if per_process < batch:
        raise SystemExit(too_small_message(path, num, batch, world_size,
                                           True))


def check_pretrained(cfg: Config) -> None:
    """A finetuning config names its pretraining checkpoint, and it exists.

    Applies to configs with a ``PretrainedCheckpointHook`` in
    ``custom_hooks``; the same rule as the hook's, before the Runner.

    Args:
        cfg: the merged config of a training run.

    Raises:
        SystemExit: the hook's message (``--cfg-options pretrained=...``
            or ``from_scratch=True``).
    """
    from mmengine.runner import find_latest_checkpoint

    from .hooks.pretrained_checkpoint_hook import (
        checkpoint_hint,
        configured_checkpoint,
    )
    hooks = [h for h in cfg.get('custom_hooks', None) or []
             if isinstance(h, Mapping)
             and h.get('type', None) == 'PretrainedCheckpointHook']
    if not hooks:
        return
    pretrained = cfg.get('pretrained', None)
    if pretrained:
        check_checkpoint_file(str(pretrained), 'pretrained')
        return
    module_name = hooks[0].get('module', 'backbone')
    module: Any = cfg.get('model', {})
    for name in module_name.split('.'):
        module = module.get(name, {}) if isinstance(module, Mapping) else {}
    init_cfg = module.get('init_cfg', None) if isinstance(
        module, Mapping) else None
    if configured_checkpoint(init_cfg) or cfg.get('from_scratch', False):
        return
    if cfg.get('load_from', None) or (
            cfg.get('resume', False) and cfg.get('work_dir', None)
            and find_latest_checkpoint(cfg.work_dir)):
        return
    raise SystemExit(
        f'error: no pretrained checkpoint for model.{module_name}: set '
        f'--cfg-options pretrained='
        f'{checkpoint_hint(cfg.get("pretrain_config", None))} '
        '(the pretraining checkpoint) or --cfg-options from_scratch=True '
        'to train from random initialisation.')
