"""Scene-bias demo: what each method's video features encode, motion or scene.

Synthetic data -> pretraining / supervised training of one clip encoder per
method -> embeddings -> retrieval, linear probes and an unbiased probe on
test_same / test_swapped -> table, verdicts, summary files and pictures.

    python tools/demo.py [--methods NAME ...|all] [--seed N] [--work-dir DIR]
        [--quick] [--resume] [--cfg-options KEY=VALUE ...]

Every training and embedding run is an mmengine ``Runner`` built with
``Runner.from_cfg`` from a config of configs/synthetic/ (data paths and the
schedule set on the loaded config); with ``--jobs 1`` they run in this
process, otherwise in a pool of worker processes (two trainings at once use
two cores better than one). Writes DIR/summary.json, DIR/summary.md,
DIR/summary.png and DIR/embedding_maps.png; the log of each run goes to
DIR/logs/.

The work is done by the package next to this script, one module per
concern: ``scene_bias_demo.plan`` (methods, data size, schedule),
``.data``, ``.stages`` (typed specs of the runs), ``.measure`` and
``.report``; ``--publish`` uses ``deployment.publishing``.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
import time
from typing import List, Optional

import torch
from mmengine.config import DictAction

#: tools/, where the demo's package (and ``deployment``) live.
TOOLS = osp.dirname(osp.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)
from scene_bias_demo.data import prepare_data  # noqa: E402
from scene_bias_demo.measure import measure_methods  # noqa: E402
from scene_bias_demo.plan import (  # noqa: E402
    CONFIGS,
    DEFAULT_METHODS,
    FULL_FACTOR,
    OPTIMIZERS,
    REPO,
    announce,
    make_plan,
    resolve_methods,
)
from scene_bias_demo.report import (  # noqa: E402
    check_summary,
    embedding_maps,
    print_report,
    run_info,
    write_summary,
)
from scene_bias_demo.stages import (  # noqa: E402
    StageOptions,
    clock,
    plan_stages,
    random_init,
    record_training,
    run_stages,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', default=list(DEFAULT_METHODS),
                        metavar='NAME',
                        help='methods to compare (default: '
                        f"{' '.join(DEFAULT_METHODS)}); 'all' adds every "
                        'self-supervisor config of configs/synthetic/')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data, the training and the random '
                        'init (default 0)')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='output directory (default work_dirs/demo)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny data and one short epoch per method (a '
                        'smoke test of the whole chain, numbers meaningless)')
    parser.add_argument('--num-train-per-class', type=int, default=None,
                        metavar='N', help='train videos per class (default: '
                        'the calibrated benchmark)')
    parser.add_argument('--iterations', type=int, default=None, metavar='N',
                        help='SGD iterations per trained method, rounded to '
                        'whole epochs (default: the calibrated budget)')
    parser.add_argument('--resume', action='store_true',
                        help='continue a stopped demo in WORK_DIR with the '
                        'same flags: reuse its data, resume each training '
                        'from its last checkpoint (saved every epoch), keep '
                        'the embeddings written after it')
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs at the same time, each in a worker '
                        'process (default 2; 1 runs them in this process)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per run (default 1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='overrides of every training config (all '
                        'methods alike); keys must exist in each config, '
                        'a new key takes a leading +, e.g. +key=value')
    parser.add_argument('--optimizer', choices=sorted(OPTIMIZERS),
                        default='config',
                        help="optimiser of every trained method alike: "
                        "'config' (default) keeps the configs' AdamW (lr "
                        "1e-3, weight decay 0.05); 'sgd' uses CMD's SGD "
                        'Nesterov (lr 0.064, momentum 0.9, weight decay '
                        '1e-3), same clipping and schedule')
    parser.add_argument('--full', action='store_true',
                        help=f'{FULL_FACTOR}x the calibrated iterations per '
                        'trained method (about five times the wall time): '
                        'the budget at which CMD\'s motion task is learnt')
    parser.add_argument('--publish', metavar='DIR',
                        help='copy each method\'s final checkpoint into DIR '
                        '(sha256-named) and list it with its measured '
                        'retrieval metrics in DIR/metafile.yml and, unless '
                        '--quick, configs/synthetic/metafile.yml '
                        '(docs/model_zoo.md)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the whole demo; returns the exit code."""
    args = parse_args(argv)
    start = time.time()

    def say(message: str) -> None:
        print(f'[{clock(start)}] {message}', flush=True)

    methods = resolve_methods(args.methods)
    torch.set_num_threads(max(1, args.threads))  # probes, random init
    run = make_plan(args, methods)
    announce(run, args, say)
    say('[1/4] generating the synthetic data: biased splits and an unbiased '
        'set (own scene 1 in 10)')
    sets = prepare_data(run, say)
    random_init(run, say)
    say('[3/4] training (same clip encoder, data size, optimiser and '
        'schedule; the self-supervisors ignore the labels), then embedding '
        'train (gallery), test_same, test_swapped and the unbiased probe set')
    specs, checkpoints = plan_stages(run, sets, StageOptions(
        threads=args.threads, start=start, cfg_options=args.cfg_options,
        optimizer=args.optimizer), say)
    stages = run_stages(specs, args.jobs, say)
    training = record_training(run, stages, checkpoints)

    say('[4/4] retrieval, linear probes, unbiased probe, classifiers, maps '
        'and summary')
    results = measure_methods(run, sets, checkpoints, training)
    maps = embedding_maps(run, sets)
    info = run_info(run, sets, args, {k: v['seconds'] for k, v in
                                      stages.items()}, checkpoints, start)
    paths = write_summary(run.work, results, info, maps)
    check_summary({'methods': results})
    if args.publish:
        from deployment.publishing import publish_demo

        from mmcmd.datasets import synthetic
        for entry in publish_demo(
                run.work, args.publish, REPO, ' '.join(
                    ['python tools/demo.py', *(argv or sys.argv[1:])]),
                synthetic.generate_dataset,
                None if args.quick else osp.join(CONFIGS, 'metafile.yml')):
            say(f"  published {entry['Name']}: {entry['Weights']}")
    print_report(results, info)
    say(f"done: {', '.join(paths.values())}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
