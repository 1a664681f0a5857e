"""Re-measure the model zoo: each listed checkpoint against its listed numbers.

    python tools/analysis/benchmark_regression.py [METAFILE ...] \
        --checkpoint-root DIR [--models REGEX ...] [--data-root DIR] \
        [--tolerance R@1=0.5 ...] [--json OUT.json]
    torchrun --nproc_per_node 2 tools/analysis/benchmark_regression.py \
        ... --launcher pytorch

For every model of the metafiles (default: every configs/**/metafile.yml)
that lists ``Weights``: find the file (under --checkpoint-root, or a URL's
file in torch's hub cache; a converted entry whose file is missing is
converted from its source when the source is under --checkpoint-root),
check its SHA-256 against its name, then run each listed result's
``Test Config`` with mmengine's Runner in this process (``load_from`` = the
checkpoint, test loop) and compare the measured metrics with the listed
ones. The synthetic benchmark's data are generated again from the model's
``Evaluation Data`` into --data-cache unless --data-root is given.

Prints a table of listed vs measured; exit code 0 when every checked model
matches, 1 on a regression, a missing or corrupt checkpoint or a failed
run, 2 on bad arguments. See docs/model_zoo.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import os.path as osp
import re
import sys
import tempfile
import time
import traceback
from typing import Any, Dict, List, Optional, Sequence

from mmcmd.utils import zoo

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: statuses that fail the run.
FAILED = ('regression', 'missing', 'corrupt', 'error')


def converters() -> Dict[str, Any]:
    """``Converted From.Converter`` -> function(state, arch, path)."""
    from mmcmd.apis.convert import convert_modelscope, convert_official_cmd
    return {'modelscope': convert_modelscope,
            'cmd_official': convert_official_cmd}


def parse_tolerances(items: Sequence[str]) -> Dict[str, float]:
    """``['R@1=0.5', '1']`` -> ``{'R@1': 0.5, 'default': 1.0}``."""
    out: Dict[str, float] = {}
    for item in items:
        key, _, value = item.rpartition('=')
        try:
            out[key or 'default'] = float(value)
        except ValueError:
            raise SystemExit(f'error: --tolerance {item!r}: expected '
                             'METRIC=POINTS or POINTS')
    return out


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.split('\n')[1:]))
    parser.add_argument('metafiles', nargs='*',
                        help='metafiles (default: configs/**/metafile.yml)')
    parser.add_argument('--checkpoint-root', default='checkpoints',
                        help='directory the Weights paths are relative to '
                        '(default checkpoints)')
    parser.add_argument('--models', nargs='+', default=[], metavar='REGEX',
                        help='only models whose Name matches one of these')
    parser.add_argument('--data-root', help='benchmark data to test on '
                        '(default: generated from Evaluation Data)')
    parser.add_argument('--data-cache', default='work_dirs/zoo_data',
                        help='where generated data are kept (default '
                        'work_dirs/zoo_data)')
    parser.add_argument('--tolerance', nargs='+', default=[],
                        metavar='[METRIC=]POINTS',
                        help='allowed |listed - measured| in points, per '
                        f'metric or for all (default {zoo.DEFAULT_TOLERANCE})')
    parser.add_argument('--json', metavar='OUT', help='write the records')
    parser.add_argument('--work-dir', help='Runner work dirs (default: a '
                        'temporary directory)')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='pytorch: under torchrun')
    parser.add_argument('--workers', type=int, metavar='N',
                        help="data loader workers (default: the config's)")
    parser.add_argument('--verbose', action='store_true',
                        help="show the Runner's INFO log")
    args = parser.parse_args(argv)
    args.tolerances = parse_tolerances(args.tolerance)
    return args


def select(models: List[dict], patterns: Sequence[str]) -> List[dict]:
    """Models whose Name matches any regex of ``patterns`` (all if none)."""
    return [m for m in models if not patterns or any(
        re.search(p, str(m.get('Name'))) for p in patterns)]


# ------------------------------------------------------------ data
def benchmark_data(spec: Optional[dict], args: argparse.Namespace
                   ) -> Optional[str]:
    """The data root of a model: --data-root, else ``spec`` (keywords of
    ``generate_dataset``) generated once into the cache, else None (the
    config's own paths)."""
    if args.data_root:
        return args.data_root
    if not spec:
        return None
    from mmengine.dist import barrier, get_rank
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
    root = osp.join(args.data_cache, f'synthetic-{key.hexdigest()[:12]}')
    done = osp.join(root, 'generated.json')
    if get_rank() == 0 and not osp.isfile(done):
        from mmcmd.datasets.synthetic import generate_dataset
        print(f'generating the benchmark data into {root}', flush=True)
        generate_dataset(root, progress=False,
                         workers=max(1, min(4, os.cpu_count() or 1)), **{
                             k: tuple(v) if isinstance(v, list) else v
                             for k, v in spec.items()})
        with open(done, 'w') as file:
            json.dump(spec, file)
    barrier()
    return root


# ------------------------------------------------------------ checks
def find_checkpoint(model: dict, root: str) -> str:
    """The local file of ``Weights``, converting it from its source when it
    is missing and the source is present (``Converted From``)."""
    path = zoo.resolve_weights(str(model['Weights']), root)
    source = (model.get('Metadata') or {}).get('Converted From')
    if osp.isfile(path) or not source:
        return path
    src = zoo.resolve_weights(str(source['File']), root)
    if not osp.isfile(src):
        raise zoo.ZooError(f'missing: {path}, and its source {src}')
    if source.get('SHA256') and zoo.sha256_file(src) != source['SHA256']:
        raise zoo.ZooError(f'corrupt: sha256 of the source {src} is not '
                           f"the listed {source['SHA256']}")
    import torch
    from mmengine.dist import barrier, get_rank

    from mmcmd.utils.checkpoint import load_checkpoint_file, unwrap_state_dict
    if get_rank() == 0:
        convert = converters()[source['Converter']]
        state = unwrap_state_dict(load_checkpoint_file(src), src)
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        torch.save(convert(state, source.get('Arch'), src), path + '.part')
        os.replace(path + '.part', path)
        print(f'converted {src} -> {path}', flush=True)
    barrier()
    return path


def check_loads(config: str, state: dict, path: str) -> str:
    """Load ``state`` into the model of ``config`` (every tensor of the
    model present with its shape); the one-line load summary."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmcmd.utils.checkpoint import format_load_summary, load_into
    cfg = Config.fromfile(osp.join(REPO, config))
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    return format_load_summary(load_into(model, state, path, strict=False),
                               path, type(model).__name__)


def measure(config: str, checkpoint: str, data_root: Optional[str],
            args: argparse.Namespace, tag: str) -> Dict[str, float]:
    """Run the test loop of ``config`` on ``checkpoint``; the metrics in
    percent, named without the evaluator's prefix (``R@1``)."""
    from mmengine.config import Config

    from mmcmd.datasets.annotations import point_dataset_at
    from mmcmd.engine.runner_config import build_runner
    cfg = Config.fromfile(osp.join(REPO, config))
    if data_root:
        dataset = cfg.test_dataloader.dataset
        for part in ('gallery', 'query'):
            if part in dataset:
                point_dataset_at(dataset[part], data_root)
        if 'ann_file' in dataset:
            point_dataset_at(dataset, data_root)
    if args.workers is not None:
        cfg.test_dataloader.num_workers = args.workers
        cfg.test_dataloader.persistent_workers = False
    cfg.work_dir = osp.join(args.work_dir, tag)
    cfg.experiment_name = f'{tag}_{time.time_ns()}'
    cfg.launcher = args.launcher
    cfg.load_from = checkpoint
    cfg.resume = False
    if not args.verbose:
        cfg.log_level = 'WARNING'
    # build_runner's CheckpointFitHook refuses a checkpoint that does not
    # fit the config's model instead of measuring random weights
    metrics = build_runner(cfg).test()
    return {key.split('/')[-1]: 100.0 * float(value)
            for key, value in metrics.items()}


def check_model(model: dict, args: argparse.Namespace) -> dict:
    """Verify, measure and compare one model; its record (``status`` one
    of ok, loaded, skipped, regression, missing, corrupt, error)."""
    name = model['Name']
    record: Dict[str, Any] = dict(name=name, metafile=model['_metafile'],
                                  weights=model.get('Weights'), rows=[])
    if not model.get('Weights'):
        return dict(record, status='skipped', message='no Weights listed')
    metadata = model.get('Metadata') or {}
    try:
        path = record['checkpoint'] = find_checkpoint(model,
                                                      args.checkpoint_root)
        state = zoo.verify_checkpoint(path, metadata.get('SHA256'))
        results = [r for r in model.get('Results') or []
                   if r.get('Metrics')]
        if not results:
            return dict(record, status='loaded', message=check_loads(
                model['Config'], state, path))
        data_root = benchmark_data(metadata.get('Evaluation Data'), args)
        for index, result in enumerate(results):
            measured = measure(result.get('Test Config', model['Config']),
                               path, data_root, args, f'{name}_{index}')
            record['rows'] += [dict(row, dataset=result.get('Dataset'))
                               for row in zoo.compare_metrics(
                                   result['Metrics'], measured,
                                   args.tolerances)]
    except zoo.ZooError as error:
        status = str(error).split(':')[0]
        return dict(record, status=status if status in FAILED else 'error',
                    message=str(error))
    except Exception as error:  # a failed run is reported, not raised
        return dict(record, status='error', message=f'{type(error).__name__}'
                    f': {error}', traceback=traceback.format_exc())
    ok = all(row['ok'] for row in record['rows'])
    return dict(record, status='ok' if ok else 'regression', message='')


def format_table(records: Sequence[dict]) -> str:
    """Listed vs measured, one line per metric (one per model without)."""
    lines = [f"{'model':<64} {'dataset':<22} {'metric':<6} {'listed':>7} "
             f"{'measured':>8} {'tol':>5}  status"]
    for rec in records:
        for row in rec['rows']:
            got = ('-' if row['measured'] is None
                   else f"{row['measured']:8.2f}")
            lines.append(
                f"{rec['name']:<64} {str(row['dataset']):<22} "
                f"{row['metric']:<6} {row['listed']:7.2f} {got:>8} "
                f"{row['tolerance']:5.2f}  "
                f"{'ok' if row['ok'] else 'REGRESSION'}")
        if not rec['rows']:
            lines.append(f"{rec['name']:<64} {rec['status'].upper()}: "
                         f"{rec.get('message', '')}")
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Check every selected model; 0 when none failed, else 1."""
    args = parse_args(argv)
    import mmcmd
    mmcmd.register_all_modules(init_default_scope=False)
    from mmengine.dist import get_rank, init_dist
    if args.launcher == 'pytorch':
        import torch
        init_dist('pytorch', backend='nccl' if torch.cuda.is_available()
                  else 'gloo')
    metafiles = args.metafiles or zoo.find_metafiles(osp.join(REPO,
                                                              'configs'))
    try:
        models = select(zoo.list_models(metafiles), args.models)
    except (OSError, zoo.ZooError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    if not models:
        print('error: no model matches', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        args.work_dir = args.work_dir or tmp
        records = [check_model(model, args) for model in models]
    failed = [r['name'] for r in records if r['status'] in FAILED]
    if get_rank() == 0:
        print(format_table(records))
        print(f'{len(models)} models: {len(failed)} failed'
              + (f" ({', '.join(failed)})" if failed else ''))
        if args.json:
            os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
            with open(args.json, 'w') as file:
                json.dump(dict(models=records, failed=failed,
                               passed=[r['name'] for r in records
                                       if r['status'] in ('ok', 'loaded')],
                               machine=zoo.machine_description(),
                               commit=zoo.git_commit(REPO)), file, indent=1)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
