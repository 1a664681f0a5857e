"""Train a model from a config: CMD pretraining, finetuning, linear probe.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--seed N] [--cfg-options KEY=VALUE ...]

The flags are those of mmaction2's tools/train.py; tools/dist_train.sh and
tools/slurm_train.sh run this script with --launcher. Exit status 2: a
checkpoint was refused as unsafe; 3: a dataloader worker process died.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction

import mmcmd
from mmcmd.utils import UnsafeCheckpointError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Flags of mmaction2's tools/train.py."""
    parser = argparse.ArgumentParser(
        description='Train a model (CMD pretraining, finetuning, linear '
        'probe) from an mmcmd / mmaction2 config.')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or, with no value, from the '
        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate by actual / base batch size '
        '(auto_scale_lr.base_batch_size in the config)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='different seeds on different ranks')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic options for cuDNN')
    parser.add_argument('--work-dir', help='directory for logs and '
                        'checkpoints (default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'model.backbone.init_cfg.checkpoint=work_dirs/x/epoch_120.pth; '
        'lists as key="[a,b]"; no white space')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher (pytorch for torchrun / '
        'tools/dist_train.sh, slurm for tools/slurm_train.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line flags to the config; --cfg-options last."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        name = os.path.splitext(os.path.basename(args.config))[0]
        cfg.work_dir = os.path.join('./work_dirs', name)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise SystemExit(f'error: --amp does not support optim_wrapper '
                             f'type {wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness', None) is None:
        cfg.randomness = dict(seed=args.seed,
                              diff_rank_seed=args.diff_rank_seed,
                              deterministic=args.deterministic)
    elif args.seed is not None:
        cfg.randomness.seed = args.seed
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
    """The Runner named by ``runner_type``, or mmengine's default one."""
    from mmaction.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def main(argv: Optional[List[str]] = None) -> None:
    """Build the runner from the config and train."""
    args = parse_args(argv)
    if not os.path.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    # The compat fixes must precede Config.fromfile (mmaction:: bases).
    mmcmd.register_all_modules(init_default_scope=False)
    cfg = adapt_to_device(merge_args(Config.fromfile(args.config), args))
    build_runner(cfg).train()


def run(argv: Optional[List[str]] = None) -> int:
    """Run :func:`main`; turn known user errors into one line and a status."""
    try:
        main(argv)
    except UnsafeCheckpointError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    except RuntimeError as error:
        if 'DataLoader worker' not in str(error):
            raise
        print(f'error: a dataloader worker process died ({error}). This is '
              'usually the out-of-memory killer (fewer num_workers or a '
              'smaller batch help) or a crash inside a decoder (find the '
              'file with tools/analysis/check_videos.py). Checkpoints are '
              'kept: continue with --resume.', file=sys.stderr)
        return 3
    return 0


if __name__ == '__main__':
    sys.exit(run())
