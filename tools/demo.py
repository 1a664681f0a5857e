"""Scene-bias demo: CMD against an RGB-only baseline on synthetic videos.

Synthetic data -> CMD and RGB-only pretraining -> retrieval and linear
probes on test_same / test_swapped -> table and summary files.

    python tools/demo.py [--seed N] [--work-dir DIR] [--quick]

Every training and evaluation step is a subprocess of tools/train.py or
tools/test.py with the configs under configs/synthetic/, as a user would run
them. Writes DIR/summary.json, DIR/summary.md and DIR/summary.png; logs of
each step go to DIR/logs/.
"""
from __future__ import annotations

import argparse
import glob
import io
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from mmcmd.datasets import synthetic

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

CONFIGS = osp.join(REPO, 'configs', 'synthetic')
PRETRAIN = {
    'cmd': 'cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py',
    'rgb_contrast': 'rgbcontrast_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py',
}
RETRIEVAL = {
    'same': 'retrieval_r2plus1d-10_8x2x4_synthetic-test-same.py',
    'swapped': 'retrieval_r2plus1d-10_8x2x4_synthetic-test-swapped.py',
}
#: data and schedule of ``--quick`` (a seconds-long smoke run).
QUICK_DATA = dict(num_train_per_class=2, num_test_per_class=1, size=(64, 64),
                  num_frames=24)
QUICK_TRAIN = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=8']
EPOCH_LINE = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]')
LOSS = re.compile(r'\bloss: ([0-9.]+)')


#: method keys of the summary, in display order, and their labels.
METHODS: Dict[str, str] = {'cmd': 'CMD', 'rgb_contrast': 'RGB contrast',
                           'random': 'random init'}
#: evaluation splits: summary key -> annotation file stem.
SPLITS: Dict[str, str] = {'same': 'test_same', 'swapped': 'test_swapped'}
METRICS: Tuple[str, ...] = ('R@1', 'R@5', 'linear')


def save_initial_checkpoint(config_path: str, out_path: str,
                            seed: int) -> str:
    """Save the state dict of the model of ``config_path`` right after its
    ``init_weights()`` under ``seed`` (the untrained baseline); returns the
    path."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed
    cfg = Config.fromfile(config_path)
    # A quiet current logger: init_weights logs every parameter at INFO.
    MMLogger.get_instance(f'init_checkpoint_{time.time_ns()}',
                          log_level='WARNING')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'seed': int(seed), 'init': 'init_weights'}},
               out_path)
    return out_path


def require_backbone_weights(checkpoint: Mapping, reference: Mapping) -> None:
    """Raise unless ``checkpoint['state_dict']`` holds every ``backbone.*``
    tensor of ``reference`` (a state dict) with the same shape."""
    state = checkpoint.get('state_dict', checkpoint)
    missing = [k for k, v in reference.items() if k.startswith('backbone.')
               and (k not in state or tuple(state[k].shape) != tuple(v.shape))]
    if missing:
        raise KeyError(f'checkpoint lacks {len(missing)} backbone tensors '
                       f'of the evaluation model (first: {missing[0]}); '
                       'pretrain with the same clip_backbone as the '
                       'retrieval config.')


def _load_storage_weights_only(data: bytes):
    """``torch.storage._load_from_bytes`` with ``weights_only=True``."""
    return torch.load(io.BytesIO(data), weights_only=True)


class _DumpUnpickler(pickle.Unpickler):
    """Unpickler for prediction dumps: tensors, arrays, plain containers.

    Anything else (which could run code) is refused; nested tensor storages
    are read with ``torch.load(weights_only=True)``.
    """

    ALLOWED = {('_codecs', 'encode'), ('collections', 'OrderedDict'),
               ('torch._utils', '_rebuild_tensor_v2'),
               ('numpy.core.multiarray', '_reconstruct'),
               ('numpy._core.multiarray', '_reconstruct'),
               ('numpy.core.multiarray', 'scalar'),
               ('numpy._core.multiarray', 'scalar'),
               ('numpy', 'ndarray'), ('numpy', 'dtype')}

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _load_storage_weights_only
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f'prediction dump holds {module}.{name}; only tensors, '
                'arrays and plain containers are read')
        return super().find_class(module, name)


def load_dumped_embeddings(path: str) -> Dict[str, np.ndarray]:
    """Read a ``tools/test.py --dump`` file of a retrieval run.

    Returns float64 ``gallery`` (G, C) / ``query`` (Q, C) embeddings and
    int ``gallery_labels`` / ``query_labels``, in dataset order.
    """
    with open(path, 'rb') as file:
        rows = _DumpUnpickler(file).load()
    out: Dict[str, List] = {'gallery': [], 'query': [],
                            'gallery_labels': [], 'query_labels': []}
    for row in rows:
        role = row.get('retrieval_role')
        if role not in ('gallery', 'query') or 'embedding' not in row:
            raise KeyError(f'{path}: rows need embedding and retrieval_role '
                           '(a VideoRetrievalDataset run with VideoEmbedder)')
        label = row['gt_label']
        out[role].append(np.asarray(row['embedding'], np.float64))
        out[f'{role}_labels'].append(int(np.asarray(label).reshape(-1)[0]))
    return {key: np.asarray(value) for key, value in out.items()}


def linear_probe_accuracy(train_x: np.ndarray, train_y: np.ndarray,
                          test_x: np.ndarray, test_y: np.ndarray,
                          weight_decay: float = 1e-3, max_iter: int = 300
                          ) -> float:
    """Top-1 accuracy (0..1) of multinomial logistic regression fitted on
    frozen ``train_x`` (N, C) and applied to ``test_x``.

    Features are standardised with the train mean and std; the loss is the
    mean cross-entropy plus ``weight_decay * ||W||^2`` (bias free), minimised
    full-batch with L-BFGS in float64 from zeros (deterministic).
    """
    x = torch.as_tensor(train_x, dtype=torch.float64)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    x = (x - mean) / std
    y = torch.as_tensor(train_y, dtype=torch.long)
    classes = int(max(int(y.max()), int(np.max(test_y))) + 1)
    weight = torch.zeros(x.shape[1], classes, dtype=torch.float64,
                         requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter,
                                  line_search_fn='strong_wolfe')

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight + bias, y)
        loss = loss + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        test = (torch.as_tensor(test_x, dtype=torch.float64) - mean) / std
        pred = (test @ weight + bias).argmax(1).numpy()
    return float(np.mean(pred == np.asarray(test_y)))


def _metric_files(work_dir: str) -> List[str]:
    """The ``<timestamp>/<timestamp>.json`` metric files that mmengine's
    logger writes for each ``tools/test.py`` run in ``work_dir``, oldest
    first."""
    return sorted(glob.glob(os.path.join(work_dir, '*', '*.json')),
                  key=os.path.getmtime)


def read_test_metrics(work_dir: str) -> Dict[str, float]:
    """Metrics of the newest ``tools/test.py`` run in ``work_dir``."""
    files = _metric_files(work_dir)
    if not files:
        raise FileNotFoundError(f'no test metrics (*/*.json) under '
                                f'{work_dir}; did tools/test.py finish?')
    with open(files[-1]) as file:
        return {k: float(v) for k, v in json.load(file).items()
                if isinstance(v, (int, float))}


def evaluation_done(work_dir: str, dump: str, checkpoint: str) -> bool:
    """Whether a ``tools/test.py`` run of ``checkpoint`` finished: its metrics
    in ``work_dir`` and its embeddings in ``dump``, both written after the
    checkpoint (a resumed pretraining that saved a newer one invalidates
    them)."""
    files = _metric_files(work_dir)
    if not files or not os.path.isfile(dump):
        return False
    written = min(os.path.getmtime(dump), os.path.getmtime(files[-1]))
    return written >= os.path.getmtime(checkpoint)


def gaps(methods: Mapping[str, Mapping[str, Mapping[str, float]]]
         ) -> Dict[str, Dict[str, float]]:
    """Same-minus-swapped difference of every metric of every method."""
    return {name: {metric: result['same'][metric] - result['swapped'][metric]
                   for metric in result['same']}
            for name, result in methods.items()}


def format_table(methods: Mapping[str, Mapping[str, Mapping[str, float]]],
                 markdown: bool = False) -> str:
    """A table of R@1 / R@5 / linear accuracy on both test splits (percent),
    plus the same-minus-swapped gaps of R@1 and the linear probe."""
    head = ['method'] + [f'{m} {s}' for s in SPLITS for m in METRICS] + [
        'gap R@1', 'gap linear']
    gap = gaps(methods)
    rows = []
    for name, result in methods.items():
        cells = [METHODS.get(name, name)]
        cells += [f'{100 * result[s][m]:.1f}' for s in SPLITS
                  for m in METRICS]
        cells += [f'{100 * gap[name]["R@1"]:+.1f}',
                  f'{100 * gap[name]["linear"]:+.1f}']
        rows.append(cells)
    if markdown:
        lines = ['| ' + ' | '.join(head) + ' |',
                 '|' + '|'.join(['---'] + ['---:'] * (len(head) - 1)) + '|']
        lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
        return '\n'.join(lines)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = '  '.join(f'{{:<{w}}}' if i == 0 else f'{{:>{w}}}'
                    for i, w in enumerate(widths))
    return '\n'.join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


def plot_summary(methods: Mapping[str, Mapping[str, Mapping[str, float]]],
                 path: str, title: str = '') -> str:
    """Bar chart (PNG) of R@1 and linear-probe accuracy per method, split."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(methods)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    width = 0.38
    for ax, metric in zip(axes, ('R@1', 'linear')):
        xs = np.arange(len(names))
        for offset, split, colour in ((-width / 2, 'same', '#4c72b0'),
                                      (width / 2, 'swapped', '#dd8452')):
            values = [100 * methods[n][split][metric] for n in names]
            bars = ax.bar(xs + offset, values, width, color=colour,
                          label=f'test_{split}')
            ax.bar_label(bars, fmt='%.0f', fontsize=8)
        ax.axhline(10, color='grey', lw=0.8, ls=':')  # chance: 10 classes
        ax.set_xticks(xs, [METHODS.get(n, n) for n in names])
        ax.set_title('retrieval R@1' if metric == 'R@1' else
                     'linear probe top-1')
        ax.set_ylim(0, 105)
    axes[0].set_ylabel('percent')
    axes[0].legend(loc='upper right', fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_summary(out_dir: str, methods: Mapping, info: Mapping) -> Dict[
        str, str]:
    """Write ``summary.json``, ``summary.md`` and ``summary.png`` into
    ``out_dir``; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {key: os.path.join(out_dir, f'summary.{key}')
             for key in ('json', 'md', 'png')}
    summary = dict(methods=methods, gaps=gaps(methods), **info)
    with open(paths['json'], 'w') as file:
        json.dump(summary, file, indent=2)
    lines = ['# Scene-bias demo', '',
             'Values in percent; gap = test_same minus test_swapped '
             '(smaller means less scene bias).', '',
             format_table(methods, markdown=True), '']
    lines += [f'- {key}: {value}' for key, value in info.items()
              if not isinstance(value, (dict, list))]
    with open(paths['md'], 'w') as file:
        file.write('\n'.join(lines) + '\n')
    plot_summary(methods, paths['png'],
                 title=f"scene-bias demo, seed {info.get('seed', '?')}")
    return paths


def check_summary(summary: Mapping, methods: Sequence[str] = tuple(METHODS)
                  ) -> None:
    """Raise ValueError unless ``summary`` has every method, split and metric
    with a value in [0, 1]."""
    for name in methods:
        for split in SPLITS:
            for metric in METRICS:
                value = summary['methods'][name][split][metric]
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f'{name}/{split}/{metric} = {value} '
                                     'is outside [0, 1]')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data, the training and the random '
                        'init (default 0)')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='output directory (default work_dirs/demo)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny data and 2 iterations per method (a '
                        'smoke test of the whole chain, numbers meaningless)')
    parser.add_argument('--num-train-per-class', type=int, default=None,
                        metavar='N',
                        help='train videos per class (default 24). The '
                        'schedule is 20 epochs, so N also scales the '
                        'iterations: N=240 gives 3000 per method, the budget '
                        'at which a supervised encoder learns the motions '
                        '(docs/scene_bias.md; about 10x the default run)')
    parser.add_argument('--skip-generate', action='store_true',
                        help='reuse WORK_DIR/data if it holds a data set')
    parser.add_argument('--resume', action='store_true',
                        help='continue a stopped demo in WORK_DIR with the '
                        'same flags: reuse its data, resume each pretraining '
                        'from its last checkpoint (saved every epoch) and '
                        'skip the evaluations that finished after it')
    parser.add_argument('--jobs', type=int, default=2,
                        help='steps run at the same time (default 2)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per step (default 1: steady '
                        'speed on shared cores)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='extra overrides for both pretraining configs')
    return parser.parse_args(argv)


class Progress:
    """Prints stage lines with the elapsed wall time."""

    def __init__(self) -> None:
        self.start = time.time()

    def elapsed(self) -> str:
        seconds = int(time.time() - self.start)
        return f'{seconds // 60:2d}:{seconds % 60:02d}'

    def __call__(self, message: str) -> None:
        print(f'[{self.elapsed()}] {message}', flush=True)


class Job:
    """One tools/train.py or tools/test.py subprocess, logged to a file."""

    def __init__(self, name: str, args: List[str], log_path: str,
                 env: Dict[str, str], append: bool = False) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self.env = env
        self.append = append  # keep the log of the run this one resumes
        self.proc: Optional[subprocess.Popen] = None
        self.started = 0.0
        self.epoch = 0
        self.lines: List[str] = []

    def start(self) -> None:
        os.makedirs(osp.dirname(self.log_path), exist_ok=True)
        self.log = open(self.log_path, 'a' if self.append else 'w')
        self.log.write(' '.join(self.args) + '\n')
        self.started = time.time()
        self.proc = subprocess.Popen(
            self.args, cwd=REPO, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def poll(self, progress: Progress) -> Optional[int]:
        """Read new output (report epochs); the exit code once finished."""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.write(line)
            self.lines = (self.lines + [line.rstrip()])[-40:]
            match = EPOCH_LINE.search(line)
            if match and match.group(2) == match.group(3):
                loss = LOSS.search(line)
                progress(f'  {self.name}: epoch {match.group(1)} done'
                         + (f', loss {loss.group(1)}' if loss else ''))
        code = self.proc.poll()
        if code is not None:
            rest = self.proc.stdout.read() or ''
            self.log.write(rest)
            self.lines = (self.lines + rest.splitlines())[-40:]
            self.log.close()
        return code


def run_jobs(jobs: List[Job], parallel: int, progress: Progress) -> None:
    """Run ``jobs``, ``parallel`` at a time; exit with the log on a failure."""
    waiting, running = list(jobs), []
    while waiting or running:
        while waiting and len(running) < max(1, parallel):
            job = waiting.pop(0)
            job.start()
            progress(f'  {job.name}: started (log {job.log_path})')
            running.append(job)
        for job in list(running):
            code = job.poll(progress)
            if code is None:
                continue
            running.remove(job)
            if code != 0:
                for other in running:
                    other.proc.terminate()
                print('\n'.join(job.lines[-30:]), file=sys.stderr)
                raise SystemExit(f'error: {job.name} failed (exit {code}); '
                                 f'full log: {job.log_path}')
            seconds = time.time() - job.started
            progress(f'  {job.name}: done in {seconds:.0f} s')
        time.sleep(0.2)


def data_options(prefix: str, data_dir: str, split: str) -> List[str]:
    """--cfg-options pointing a dataset config at ``data_dir/split.txt``."""
    return [f'{prefix}.ann_file={osp.join(data_dir, split + ".txt")}',
            f'{prefix}.data_prefix.video={data_dir}']


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint path recorded in ``work_dir/last_checkpoint``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise SystemExit(f'error: no checkpoint was saved in {work_dir}; see '
                         'its log')
    with open(marker) as file:
        return file.read().strip()


def main(argv: Optional[List[str]] = None) -> int:
    """Run the whole demo; returns the exit code."""
    args = parse_args(argv)
    progress = Progress()
    work = osp.abspath(args.work_dir)
    data_dir = osp.join(work, 'data')
    logs = osp.join(work, 'logs')
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    python = sys.executable
    mode = 'quick smoke run' if args.quick else 'full demo'
    progress(f'scene-bias demo ({mode}), seed {args.seed}, output {work}')

    data_kwargs = dict(QUICK_DATA) if args.quick else {}
    if args.num_train_per_class is not None:
        data_kwargs['num_train_per_class'] = args.num_train_per_class
    have_data = osp.isfile(osp.join(data_dir, 'meta.json'))
    if (args.skip_generate or args.resume) and have_data:
        progress(f'[1/5] reusing the data set in {data_dir}')
    else:
        progress('[1/5] generating the synthetic scene-bias data set')
        meta = synthetic.generate_dataset(data_dir, seed=args.seed,
                                          workers=max(1, args.jobs),
                                          progress=False, **data_kwargs)
        progress(f'      {len(meta["videos"])} videos written to {data_dir}')

    progress('[2/5] pretraining CMD and the RGB-only baseline (same backbone, '
             'data and schedule; labels unused)')
    train_jobs = []
    for name, config in PRETRAIN.items():
        options = data_options('train_dataloader.dataset', data_dir,
                               'train')
        options += QUICK_TRAIN if args.quick else []
        options += list(args.cfg_options)
        train_jobs.append(Job(name, [
            python, osp.join(REPO, 'tools', 'train.py'),
            osp.join(CONFIGS, config), '--work-dir', osp.join(work, name),
            '--seed', str(args.seed)] + (['--resume'] if args.resume else [])
            + ['--cfg-options'] + options,
            osp.join(logs, f'train_{name}.log'), env, append=args.resume))
    run_jobs(train_jobs, args.jobs, progress)
    checkpoints = {name: last_checkpoint(osp.join(work, name))
                   for name in PRETRAIN}

    init_path = osp.join(work, 'random', 'init.pth')
    if args.resume and osp.isfile(init_path):
        # Rewriting it would date it after its evaluations and rerun them.
        progress('[3/5] reusing the randomly initialised backbone '
                 f'{init_path}')
        checkpoints['random'] = init_path
    else:
        progress('[3/5] saving the randomly initialised backbone (seed '
                 f'{args.seed})')
        checkpoints['random'] = save_initial_checkpoint(
            osp.join(CONFIGS, RETRIEVAL['same']), init_path, args.seed)

    progress('[4/5] retrieval (gallery = train) on test_same and '
             'test_swapped')
    eval_jobs = []
    for name, checkpoint in checkpoints.items():
        for split, config in RETRIEVAL.items():
            eval_dir = osp.join(work, name, f'eval_{split}')
            dump = osp.join(work, name, f'{split}.pkl')
            if args.resume and evaluation_done(eval_dir, dump,
                                                    checkpoint):
                progress(f'  {name}/{split}: done before, kept')
                continue
            options = data_options('test_dataloader.dataset.gallery',
                                   data_dir, 'train')
            options += data_options('test_dataloader.dataset.query', data_dir,
                                    SPLITS[split])
            eval_jobs.append(Job(f'{name}/{split}', [
                python, osp.join(REPO, 'tools', 'test.py'),
                osp.join(CONFIGS, config), checkpoint, '--work-dir',
                eval_dir, '--dump', dump, '--cfg-options']
                + options, osp.join(logs, f'test_{name}_{split}.log'), env))
    run_jobs(eval_jobs, args.jobs, progress)

    progress('[5/5] linear probes (logistic regression on frozen train '
             'embeddings) and summary')
    methods: Dict[str, Dict[str, Dict[str, float]]] = {}
    for name in checkpoints:
        methods[name] = {}
        for split in RETRIEVAL:
            metrics = read_test_metrics(
                osp.join(work, name, f'eval_{split}'))
            emb = load_dumped_embeddings(
                osp.join(work, name, f'{split}.pkl'))
            linear = linear_probe_accuracy(
                emb['gallery'], emb['gallery_labels'], emb['query'],
                emb['query_labels'])
            methods[name][split] = {'R@1': metrics['retrieval/R@1'],
                                    'R@5': metrics['retrieval/R@5'],
                                    'linear': linear}
    info = dict(seed=args.seed, quick=bool(args.quick),
                num_train_per_class=args.num_train_per_class or (
                    QUICK_DATA['num_train_per_class'] if args.quick else 24),
                wall_time_s=round(time.time() - progress.start, 1),
                threads_per_step=args.threads, parallel_steps=args.jobs,
                data_dir=data_dir,
                configs={**{k: f'configs/synthetic/{v}'
                            for k, v in PRETRAIN.items()},
                         **{f'retrieval_{k}': f'configs/synthetic/{v}'
                            for k, v in RETRIEVAL.items()}},
                checkpoints=checkpoints,
                cfg_options=list(args.cfg_options))
    paths = write_summary(work, methods, info)
    check_summary({'methods': methods})
    print()
    print(format_table(methods))
    print()
    progress(f'done: {paths["json"]}, {paths["md"]}, {paths["png"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
