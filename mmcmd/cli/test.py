"""Test a checkpoint with a config: ``tools/test.py`` / ``mmcmd-test``."""
from __future__ import annotations

import argparse
from typing import List, Optional

from .common import (adapt_to_device, add_common_args, apply_cfg_options,
                     build_runner, load_config, run_main)


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
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Build the runner from the config and run its test loop."""
    args = parse_args(argv)
    cfg = load_config(args.config, args)
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
    cfg = adapt_to_device(apply_cfg_options(cfg, args))
    build_runner(cfg).test()


def cli() -> None:
    """Console-script entry point."""
    run_main(main)


if __name__ == '__main__':
    cli()
