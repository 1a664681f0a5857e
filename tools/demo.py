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
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

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
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]),
        OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    python = sys.executable
    mode = 'quick smoke run' if args.quick else 'full demo'
    progress(f'scene-bias demo ({mode}), seed {args.seed}, output {work}')

    from mmcmd import demo
    from mmcmd.datasets import synthetic
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
        options = data_options('train_dataloader.dataset.dataset', data_dir,
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
        checkpoints['random'] = demo.save_initial_checkpoint(
            osp.join(CONFIGS, RETRIEVAL['same']), init_path, args.seed)

    progress('[4/5] retrieval (gallery = train) on test_same and '
             'test_swapped')
    eval_jobs = []
    for name, checkpoint in checkpoints.items():
        for split, config in RETRIEVAL.items():
            eval_dir = osp.join(work, name, f'eval_{split}')
            dump = osp.join(work, name, f'{split}.pkl')
            if args.resume and demo.evaluation_done(eval_dir, dump,
                                                    checkpoint):
                progress(f'  {name}/{split}: done before, kept')
                continue
            options = data_options('test_dataloader.dataset.gallery',
                                   data_dir, 'train')
            options += data_options('test_dataloader.dataset.query', data_dir,
                                    demo.SPLITS[split])
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
            metrics = demo.read_test_metrics(
                osp.join(work, name, f'eval_{split}'))
            emb = demo.load_dumped_embeddings(
                osp.join(work, name, f'{split}.pkl'))
            linear = demo.linear_probe_accuracy(
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
    paths = demo.write_summary(work, methods, info)
    demo.check_summary({'methods': methods})
    print()
    print(demo.format_table(methods))
    print()
    progress(f'done: {paths["json"]}, {paths["md"]}, {paths["png"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
