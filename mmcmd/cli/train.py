"""Train a model from a config: ``tools/train.py`` / ``mmcmd-train``."""
from __future__ import annotations

import argparse
from typing import List, Optional

from .common import (adapt_to_device, add_common_args, apply_cfg_options,
                     build_runner, load_config, run_main)


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
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Build the runner from the config and train."""
    args = parse_args(argv)
    cfg = load_config(args.config, args)
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
    cfg = adapt_to_device(apply_cfg_options(cfg, args))
    build_runner(cfg).train()


def cli() -> None:
    """Console-script entry point."""
    run_main(main)


if __name__ == '__main__':
    cli()
