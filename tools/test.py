"""Evaluate a checkpoint with the test settings of a config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--dump OUT.pkl]
        [--show-dir DIR] [--smoke [N]] [--cfg-options KEY=VALUE ...]

The flags are those of mmaction2's tools/test.py plus ``--smoke`` (the first
N videos of the test lists, no worker processes, a log line per
iteration); tools/dist_test.sh and
tools/slurm_test.sh run this script with --launcher. Before the Runner is
built (and prints the config), --cfg-options keys are checked against the
config, and the checkpoint file and the test lists must exist.

Exit status 1: a user error (those checks and any other exception), one
line on stderr, the full traceback with --debug or MMCMD_DEBUG=1; 2: the
checkpoint was refused as unsafe; 3: a dataloader worker process died.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction

import mmcmd
from mmcmd.engine.preflight import check_checkpoint_file, check_data_files
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
    """Flags of mmaction2's tools/test.py."""
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint (accuracy, retrieval R@k, ...) '
        'with the test settings of a config.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--dump', type=str,
                        help='also write the predictions to this .pkl file')
    parser.add_argument('--show-dir', help='write visualisations here')
    parser.add_argument('--show', action='store_true',
                        help='show visualisations in a window')
    parser.add_argument('--interval', type=int, default=1,
                        help='visualise every n-th sample')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each shown window stays open')
    parser.add_argument('--work-dir', help='directory for logs '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=CFG_OPTIONS_HELP)
    parser.add_argument(
        '--smoke', nargs='?', type=int, const=SMOKE_SAMPLES, metavar='N',
        help='smoke run: the first N videos of each test list (default '
        f'{SMOKE_SAMPLES}; a retrieval config: N queries and N gallery '
        'videos), no worker processes, a log line per iteration')
    parser.add_argument('--debug', action='store_true', help=DEBUG_HELP)
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher (pytorch for torchrun / '
        'tools/dist_test.sh, slurm for tools/slurm_test.sh)')
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
    elif cfg.get('work_dir', None) is None:
        name = os.path.splitext(os.path.basename(args.config))[0]
        cfg.work_dir = os.path.join('./work_dirs', name)
    if args.show or args.show_dir is not None:
        hooks = cfg.default_hooks
        if 'visualization' not in hooks:
            raise SystemExit('error: --show/--show-dir need a visualization '
                             'hook in default_hooks')
        hooks.visualization.enable = True
        hooks.visualization.show = args.show
        hooks.visualization.interval = args.interval
        hooks.visualization.wait_time = args.wait_time
        if args.show_dir is not None:
            hooks.visualization.out_dir = args.show_dir
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit('error: --dump must name a .pkl file')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluator = cfg.test_evaluator
        cfg.test_evaluator = (evaluator + [dump] if isinstance(
            evaluator, (list, tuple)) else [evaluator, dump])
    cfg.load_from = args.checkpoint
    if args.smoke is not None:
        smoke_config(cfg, args.smoke, training=False)
    return merge_cfg_options(cfg, args.cfg_options)


def main(argv: Optional[List[str]] = None) -> None:
    """Build the runner from the config and run its test loop."""
    args = parse_args(argv)
    if not os.path.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    # The compat fixes must precede Config.fromfile (mmaction:: bases).
    mmcmd.register_all_modules(init_default_scope=False)
    cfg = merge_args(Config.fromfile(args.config), args)
    cfg = adapt_to_device(fix_worker_settings(cfg))
    check_checkpoint_file(cfg.get('load_from', None), 'CHECKPOINT')
    check_data_files(cfg, ['test_dataloader'])
    build_runner(cfg).test()


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
              'file with tools/analysis/check_videos.py).', file=sys.stderr)
        return 3
    return 0


if __name__ == '__main__':
    sys.exit(run())
