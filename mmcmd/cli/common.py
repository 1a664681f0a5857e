"""Pieces shared by the train and test entry points."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, List, Optional

from mmengine.config import Config, DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Flags that tools/train.py and tools/test.py share with mmaction2."""
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'model.backbone.init_cfg.checkpoint=work_dirs/x/epoch_120.pth; '
        'lists as key="[a,b]"; no white space')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher (pytorch for torchrun / '
        'tools/dist_*.sh, slurm for tools/slurm_*.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)


def load_config(path: str, args: argparse.Namespace) -> Config:
    """Read a config file and apply the flags every tool shares."""
    if not os.path.isfile(path):
        raise SystemExit(f'error: config file not found: {path}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(path)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        name = os.path.splitext(os.path.basename(path))[0]
        cfg.work_dir = os.path.join('./work_dirs', name)
    return cfg


def apply_cfg_options(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge ``--cfg-options`` last, so they win over every other flag."""
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def adapt_to_device(cfg: Config) -> Config:
    """Drop GPU-only settings when no GPU is present (SyncBN needs CUDA)."""
    import torch
    if not torch.cuda.is_available() and cfg.get('sync_bn', None):
        print('mmcmd: no GPU found, training with per-process BatchNorm '
              'instead of SyncBN', file=sys.stderr)
        cfg.sync_bn = None
    return cfg


def build_runner(cfg: Config):
    """Build the Runner named by ``runner_type`` or mmengine's default."""
    from mmengine.runner import Runner

    from mmaction.registry import RUNNERS
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_main(main: Callable[[Optional[List[str]]], None],
             argv: Optional[List[str]] = None) -> None:
    """Run an entry point; turn known user errors into one clear line."""
    from mmcmd.utils import UnsafeCheckpointError
    try:
        main(argv)
    except UnsafeCheckpointError as error:
        print(f'error: {error}', file=sys.stderr)
        raise SystemExit(2)
    except RuntimeError as error:
        if 'DataLoader worker' not in str(error):
            raise
        print(f'error: a dataloader worker process died ({error}). This is '
              'usually the out-of-memory killer (fewer num_workers or a '
              'smaller batch help) or a crash inside a decoder (find the '
              'file with tools/analysis/check_videos.py). Checkpoints are '
              'kept: continue with --resume.', file=sys.stderr)
        raise SystemExit(3)
