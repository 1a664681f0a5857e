"""Train a model from a config: CMD pretraining, finetuning, linear probe.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--seed N] [--smoke [N]] [--cfg-options KEY=VALUE ...]

The flags are those of mmaction2's tools/train.py plus ``--smoke``, a short
run of any config that checks data, model and loop end to end (see
docs/workflows.md); tools/dist_train.sh and tools/slurm_train.sh run this
script with --launcher. Before the Runner is built (and prints the
config) the merged config is checked: --cfg-options keys against the
config (mmcmd.utils.config_options), annotation lists, video folders and
checkpoint files, a training list of at least one batch, a finetuning
config's pretrained checkpoint (mmcmd.engine.preflight).

Exit status 1: a user error (those checks and any other exception), one
line on stderr, the full traceback with --debug or MMCMD_DEBUG=1; 2: a
checkpoint was refused as unsafe; 3: a dataloader worker process died.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction

import mmcmd
from mmcmd.engine.preflight import (
    check_checkpoint_file,
    check_data_files,
    check_pretrained,
    check_train_list_size,
    launcher_world_size,
    too_small_message,
)
from mmcmd.engine.runner_config import (
    SMOKE_SAMPLES,
    adapt_to_device,
    build_runner,
    fix_worker_settings,
    smoke_config,
)
from mmcmd.utils import UnsafeCheckpointError
from mmcmd.utils.config_options import CFG_OPTIONS_HELP, merge_cfg_options
from mmcmd.utils.tool_errors import DEBUG_HELP, debug_requested, report_error


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
        help=CFG_OPTIONS_HELP + '; a finetuning checkpoint as '
        'pretrained=CKPT')
    parser.add_argument(
        '--smoke', nargs='?', type=int, const=SMOKE_SAMPLES, metavar='N',
        help='smoke run: the first N videos of each annotation list (default '
        f'{SMOKE_SAMPLES}) shared by all processes, batch at most N / '
        'processes, 1 epoch, no worker processes, a log line per '
        'iteration, one checkpoint without optimizer state; work dir '
        './work_dirs/<config name>_smoke unless --work-dir is given')
    parser.add_argument('--debug', action='store_true', help=DEBUG_HELP)
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher (pytorch for torchrun / '
        'tools/dist_train.sh, slurm for tools/slurm_train.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke is not None and args.smoke < 1:
        parser.error(f'--smoke N needs N >= 1, got {args.smoke}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line flags to the config; --cfg-options last."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None or args.smoke is not None:
        name = os.path.splitext(os.path.basename(args.config))[0]
        suffix = '_smoke' if args.smoke is not None else ''
        cfg.work_dir = os.path.join('./work_dirs', name + suffix)
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
    if args.smoke is not None:
        smoke_config(cfg, args.smoke, training=True,
                     world_size=launcher_world_size(args.launcher))
    return merge_cfg_options(cfg, args.cfg_options)


def preflight(cfg: Config, args: argparse.Namespace) -> None:
    """Stop with one line on what the config alone shows to be wrong.

    Args:
        cfg: the merged config.
        args: the command-line flags.
    """
    loaders = ['train_dataloader']
    if cfg.get('val_cfg', None) and cfg.get('val_dataloader', None):
        loaders.append('val_dataloader')
    check_data_files(cfg, loaders)
    if args.resume not in (None, 'auto'):
        check_checkpoint_file(args.resume, '--resume')
    else:
        check_checkpoint_file(cfg.get('load_from', None), 'load_from')
    check_pretrained(cfg)
    check_train_list_size(cfg, launcher_world_size(args.launcher))


def check_train_size(runner) -> None:
    """Stop with one line when the training set yields no full batch.

    mmengine would fail later with ``epoch_length must be a positive
    integer, but got 0``; this names the list, its size and the batch.
    """
    loader = runner.train_loop.dataloader
    if len(loader) > 0:
        return
    dataset = loader.dataset
    ann_file = getattr(dataset, 'ann_file', None) or type(dataset).__name__
    raise SystemExit(too_small_message(ann_file, len(dataset),
                                       loader.batch_size, runner.world_size,
                                       loader.drop_last))


def main(argv: Optional[List[str]] = None) -> None:
    """Build the runner from the config and train."""
    args = parse_args(argv)
    if not os.path.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    # The compat fixes must precede Config.fromfile (mmaction:: bases).
    mmcmd.register_all_modules(init_default_scope=False)
    cfg = merge_args(Config.fromfile(args.config), args)
    cfg = adapt_to_device(fix_worker_settings(cfg))
    preflight(cfg, args)
    runner = build_runner(cfg)
    check_train_size(runner)
    runner.train()


def run(argv: Optional[List[str]] = None) -> int:
    """Run :func:`main`; turn errors into one line on stderr and a status
    (the traceback with --debug or MMCMD_DEBUG=1)."""
    try:
        main(argv)
    except SystemExit as stop:
        if isinstance(stop.code, str) and int(os.environ.get('RANK', 0)):
            return 1  # the same line comes from rank 0
        raise
    except UnsafeCheckpointError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    except Exception as error:
        if debug_requested(argv):
            raise
        if not (isinstance(error, RuntimeError)
                and 'DataLoader worker' in str(error)):
            return report_error(error)
        print(f'error: a dataloader worker process died ({error}). This is '
              'usually the out-of-memory killer (fewer num_workers or a '
              'smaller batch help) or a crash inside a decoder (find the '
              'file with tools/analysis/check_videos.py). Checkpoints are '
              'kept: continue with --resume.', file=sys.stderr)
        return 3
    return 0


if __name__ == '__main__':
    sys.exit(run())
