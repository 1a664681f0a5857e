"""What the training loop costs beyond the step: the real Runner, timed by part.

Runs mmengine's Runner with a shipped pretraining config on generated
videos (H.264 pans, GOP 16, no B-frames) and times every iteration by part,
on the host clock (``time.perf_counter``), with the device synchronised only
at the two ends of the measured window, never inside it. Each part is the
median over the measured iterations (robust to other jobs on shared cores):

  data_wait_ms        waiting for the next batch from the loader
  preprocess_ms       the model's data preprocessor (stack, copy, normalise)
  step_ms             forward + backward + optimizer update (host time; on a
                      GPU this is launch time, see isolated_step_ms)
  hooks_ms            every hook's before/after_train_iter, and per hook
                      ``hook.<Name>_ms``
  rest_ms             the loop itself: iteration - the parts above
  iteration_ms        from one batch fetch to the next
  samples_per_s       over the whole window

Variants (``--variants``, each a fresh Runner on the same videos):

  real   the config as it is;
  noop   the model's step replaced by a no-op returning the real step's
         outputs (the data preprocessor still runs), so
         ``noop.loop_overhead_ms`` = iteration - data wait is the loop's
         own cost, measured directly; its batches are made in the main
         process (no loader workers; the pipeline counts as data wait), so
         that workers racing to refill a queue the no-op empties do not
         compete with the loop for the cores;
  before the loop as mmcmd ran it before its overhead work, for a ratio in
         the same run: per-sample collate (``pseudo_collate``), no pinned
         memory or asynchronous copies, no deferred reading of the log
         values (mmengine's RuntimeInfoHook), loader workers at the
         training process's priority (``env_cfg.loader_worker_nice=0``).

Per variant ``loop_overhead_ms`` = iteration - data wait - step, where the
step is ``isolated_step_ms`` on a GPU (the same model, the same batch on the
device, timed alone with synchronisation) and the in-loop host step on the
CPU. ``loop_over_step`` = iteration / isolated step. JSON rows
``{"name", "value", "unit"}`` plus machine info, like the other benchmarks.

Examples::

    # the synthetic demo's CMD config at batch 8, 2 loader workers
    python tools/analysis/benchmark_loop.py --batch 8 --json loop.json
    # the UCF101 R(2+1)D-26 recipe on smoke-sized data
    python tools/analysis/benchmark_loop.py --config \\
        configs/cmd/cmd_r2plus1d-26_8xb8-16x4x1-120e_ucf101-rgb.py \\
        --smoke --json loop_ucf101.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from multiprocessing import Pool
from typing import Callable, Dict, List, Optional, Tuple

REPO = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
CONFIG = osp.join(REPO, 'configs', 'synthetic',
                  'cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py')
VARIANTS = ('real', 'noop', 'before')
#: the hook methods the loop calls every iteration.
ITER_METHODS = ('before_train_iter', 'after_train_iter')


def main_threads_arg(text: str):
    """'torch' or a positive int."""
    if text == 'torch':
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected 'torch' or a positive int, got {text!r}")
    return value


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--config', default=CONFIG,
                        help='pretraining config (default: the synthetic '
                        "demo's CMD config)")
    parser.add_argument('--iters', type=int, default=20,
                        help='measured iterations per variant (default 20)')
    parser.add_argument('--warmup', type=int, default=3,
                        help='iterations before the measured window '
                        '(default 3)')
    parser.add_argument('--variants', default='real,noop',
                        help='comma-separated, of ' + ', '.join(VARIANTS) +
                        " (default 'real,noop')")
    parser.add_argument('--workers', type=int,
                        help="loader worker processes (default: the "
                        "config's)")
    parser.add_argument('--batch', type=int,
                        help="clips per iteration (default: the config's)")
    parser.add_argument('--videos', type=int, default=32,
                        help='generated videos (default 32)')
    parser.add_argument('--frames', type=int, default=120,
                        help='frames per generated video (default 120)')
    parser.add_argument('--size', type=parse_size, default=(170, 128),
                        help='WIDTHxHEIGHT of the generated videos '
                        '(default 170x128)')
    parser.add_argument('--smoke', action='store_true',
                        help='smoke-sized run: 8 videos of 80 frames, '
                        '2 warm-up and 3 measured iterations')
    parser.add_argument('--device', default='auto',
                        choices=('auto', 'cuda', 'cpu'),
                        help="'cpu' hides any GPU")
    parser.add_argument('--amp', default='bf16', choices=('bf16', 'none'),
                        help='autocast dtype on a GPU (default bf16)')
    parser.add_argument('--main-threads', type=main_threads_arg,
                        help="env_cfg.main_threads of 'real' and 'noop': "
                        "'torch' or N (default: the config's, else "
                        "'torch'; docs/performance.md)")
    parser.add_argument('--worker-nice', type=int, choices=range(20),
                        metavar='0..19',
                        help="env_cfg.loader_worker_nice of 'real': how "
                        'much lower the loader workers run than the '
                        "training process (default: the config's, 10 in "
                        "the shipped ones; 'before' always uses 0)")
    parser.add_argument('--step-iters', type=int, default=10,
                        help='timed repetitions of the isolated step '
                        '(default 10)')
    parser.add_argument('--profile', metavar='FILE',
                        help='also write a torch.profiler table of the '
                        "'real' variant's measured iterations here")
    parser.add_argument('--work-dir', help='videos and logs (default: a '
                        'temporary folder, removed)')
    parser.add_argument('--json', help='write rows and machine info here')
    args = parser.parse_args(argv)
    if args.smoke:
        args.videos, args.frames = min(args.videos, 8), min(args.frames, 80)
        args.warmup, args.iters = min(args.warmup, 2), min(args.iters, 3)
        args.step_iters = min(args.step_iters, 2)
    args.variants = [v.strip() for v in args.variants.split(',') if v]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f'unknown --variants {unknown}; choose from '
                     f'{", ".join(VARIANTS)}')
    if args.iters < 1 or args.warmup < 1 or args.videos < 1:
        parser.error('--iters, --warmup and --videos must be >= 1')
    return args


# ---------------------------------------------------------------- data
def parse_size(text: str) -> Tuple[int, int]:
    """'170x128' -> (170, 128)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'size must look like 170x128, got {text!r}') from None
    return width, height


def _write_video(job: Tuple[str, int, Tuple[int, int], int]) -> str:
    from mmcmd.codec.samples import write_panning_video
    path, seed, size, frames = job
    speed = 0.5 + (seed % 7) * 0.5
    angle = seed * 2.399  # golden angle: directions spread evenly
    motion = (round(speed * math.cos(angle), 2),
              round(speed * math.sin(angle), 2))
    return write_panning_video(path, codec='h264', size=size, frames=frames,
                               motion=motion, gop=16, seed=seed, quality=23)


def generate_videos(folder: str, count: int, size: Tuple[int, int],
                    frames: int, workers: int) -> str:
    """Write ``count`` videos and an annotation list; return the list."""
    videos = osp.join(folder, 'videos')
    os.makedirs(videos, exist_ok=True)
    jobs = [(osp.join(videos, f'pan_{i:04d}.mp4'), i, size, frames)
            for i in range(count)]
    if workers > 1:
        with Pool(min(workers, count)) as pool:
            pool.map(_write_video, jobs)
    else:
        for job in jobs:
            _write_video(job)
    listing = osp.join(folder, 'train.txt')
    with open(listing, 'w') as f:
        f.writelines(f'{osp.basename(job[0])} 0\n' for job in jobs)
    return listing


# ---------------------------------------------------------------- gpu
class UtilisationSampler(threading.Thread):
    """Samples GPU utilisation (%) every ``interval_s`` until stopped."""

    def __init__(self, interval_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval_s = interval_s
        self.samples: List[float] = []
        self._stop_event = threading.Event()

    @staticmethod
    def read() -> Optional[float]:
        """One reading, or None where neither source answers."""
        import torch
        try:
            return float(torch.cuda.utilization())
        except Exception:  # no pynvml: ask nvidia-smi
            pass
        try:
            out = subprocess.run(
                ['nvidia-smi', '--query-gpu=utilization.gpu',
                 '--format=csv,noheader,nounits', '--id=0'],
                capture_output=True, text=True, timeout=5)
            return float(out.stdout.strip().splitlines()[0])
        except (OSError, ValueError, IndexError,
                subprocess.SubprocessError):
            return None

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            value = self.read()
            if value is None:
                return
            self.samples.append(value)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


# ---------------------------------------------------------------- timing
class Timer:
    """Host-clock time per part and iteration over the measured window."""

    def __init__(self, warmup: int, sync: Callable[[], None]) -> None:
        self.warmup = warmup
        self.sync = sync
        self.iteration = -1  # index of the batch being fetched
        self.records: List[Dict[str, float]] = []  # one per iteration
        self.current: Dict[str, float] = defaultdict(float)
        self.start: Optional[float] = None
        self.end: Optional[float] = None
        self._iteration_start = 0.0

    @property
    def measuring(self) -> bool:
        return self.start is not None and self.end is None

    def wrap(self, part: str, fn: Callable) -> Callable:
        """``fn`` with its host time added to ``part`` while measuring."""
        def timed(*args, **kwargs):
            if not self.measuring:
                return fn(*args, **kwargs)
            begin = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[part] += time.perf_counter() - begin
        return timed

    def _finish_iteration(self, now: float) -> None:
        self.current['iteration'] = now - self._iteration_start
        self.records.append(dict(self.current))
        self.current = defaultdict(float)
        self._iteration_start = now

    def batch_fetched(self) -> None:
        """Called at the start of each fetch: opens the window, and ends
        the previous measured iteration."""
        self.iteration += 1
        if self.iteration == self.warmup:
            self.sync()
            self.start = self._iteration_start = time.perf_counter()
        elif self.measuring:
            self._finish_iteration(time.perf_counter())

    def close(self) -> None:
        """Called after the last iteration's hooks: closes the window."""
        if self.measuring:
            self.sync()
            self.end = time.perf_counter()
            self._finish_iteration(self.end)


def median_parts(records: List[Dict[str, float]]) -> Dict[str, float]:
    """Median over iterations of each part (ms), with the derived parts:
    ``step`` = train_step - preprocess, ``hooks`` = the hooks' sum and
    ``rest`` = iteration - every other part, ``beside_step`` = iteration
    - data wait - step (the loop's own cost in that iteration)."""
    names = sorted({name for record in records for name in record})
    rows: Dict[str, List[float]] = defaultdict(list)
    for record in records:
        part = {name: record.get(name, 0.0) * 1e3 for name in names}
        step = part.pop('train_step', 0.0) - part.get('preprocess', 0.0)
        hooks = sum(v for k, v in part.items() if k.startswith('hook.'))
        beside = part['iteration'] - part.get('data_wait', 0.0) - step
        part.update(step=step, hooks=hooks, beside_step=beside,
                    rest=beside - part.get('preprocess', 0.0) - hooks)
        for name, value in part.items():
            rows[name].append(value)
    return {name: statistics.median(values) for name, values in
            rows.items()}


class TimedIterator:
    """The loop's batch iterator, with each fetch timed as data wait."""

    def __init__(self, iterator, timer: Timer) -> None:
        self.iterator = iterator
        self.timer = timer

    def __iter__(self):
        return self

    def __next__(self):
        self.timer.batch_fetched()
        return self.timer.wrap('data_wait', self.iterator.__next__)()


def instrument(runner, timer: Timer, noop_outputs: Optional[dict],
               keep: dict) -> None:
    """Time the runner's parts; with ``noop_outputs`` the step is a no-op."""
    from mmengine.hooks import Hook

    model = runner.model
    preprocessor = model.data_preprocessor
    forward = preprocessor.forward

    def preprocess(data, training=False):
        out = forward(data, training)
        keep['data'] = out  # the batch on the device, for the isolated step
        return out

    preprocessor.forward = timer.wrap('preprocess', preprocess)
    real_step = model.train_step

    def step(data, optim_wrapper):
        if noop_outputs is not None:
            preprocessor(data, True)
            return dict(noop_outputs)
        outputs = real_step(data, optim_wrapper)
        keep['outputs'] = outputs
        return outputs

    model.train_step = timer.wrap('train_step', step)
    for hook in runner.hooks:
        for method in ITER_METHODS:
            setattr(hook, method, timer.wrap(f'hook.{type(hook).__name__}',
                                             getattr(hook, method)))

    class WindowHook(Hook):
        priority = 'LOWEST'

        def before_train(self, runner) -> None:
            loop = runner.train_loop
            loop.dataloader_iterator = TimedIterator(
                loop.dataloader_iterator, timer)

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None) -> None:
            if runner.iter + 1 >= runner.train_loop.max_iters:
                timer.close()

    runner.register_hook(WindowHook())


def isolated_step_ms(runner, data: dict, iters: int,
                     sync: Callable[[], None]) -> float:
    """Forward + backward + update alone on one preprocessed batch (ms)."""
    model, optim_wrapper = runner.model, runner.optim_wrapper

    def one() -> None:
        with optim_wrapper.optim_context(model):
            losses = model._run_forward(data, mode='loss')
        parsed, _ = model.parse_losses(losses)
        optim_wrapper.update_params(parsed)

    one()
    sync()
    begin = time.perf_counter()
    for _ in range(iters):
        one()
    sync()
    return (time.perf_counter() - begin) / iters * 1e3


# ---------------------------------------------------------------- runs
def build_config(args: argparse.Namespace, folder: str, listing: str,
                 variant: str, cuda: bool):
    """The config on the generated videos, iteration-based, no val/ckpt."""
    from mmengine.config import Config

    from mmcmd.datasets.annotations import point_dataset_at
    cfg = Config.fromfile(args.config)
    loader = cfg.train_dataloader
    if args.workers is not None:
        loader.num_workers = args.workers
    loader.persistent_workers = loader.num_workers > 0
    loader.sampler = dict(type='InfiniteSampler', shuffle=True)
    if args.batch:
        loader.batch_size = args.batch
    point_dataset_at(loader.dataset, osp.join(folder, 'videos'),
                     ann_file=listing)
    loader.dataset.pop('indices', None)
    total = args.warmup + args.iters
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=total,
                         val_interval=total + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = None
    cfg.pop('load_from', None)
    cfg.resume = False
    cfg.launcher = 'none'
    cfg.sync_bn = None
    cfg.work_dir = osp.join(folder, f'work_dir_{variant}')
    cfg.randomness = dict(seed=0)
    if cuda and args.amp == 'bf16':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
    if variant == 'noop':
        loader.num_workers = 0
        loader.persistent_workers = False
    if variant == 'before':
        loader.collate_fn = dict(type='pseudo_collate')
        loader.pin_memory = False
        cfg.model.setdefault('data_preprocessor', dict(
            type='CMDDataPreprocessor'))
        cfg.model.data_preprocessor.non_blocking = False
        cfg.default_hooks.runtime_info = dict(type='RuntimeInfoHook')
        cfg.env_cfg.loader_worker_nice = 0
    if args.main_threads is not None:
        cfg.env_cfg.main_threads = args.main_threads
    if args.worker_nice is not None and variant == 'real':
        cfg.env_cfg.loader_worker_nice = args.worker_nice
    return cfg


def run_variant(args, folder: str, listing: str, variant: str, cuda: bool,
                noop_outputs: Optional[dict], profile: Optional[str]
                ) -> Tuple[Dict[str, float], dict]:
    """One Runner; returns (per-iteration ms by part, the last outputs)."""
    import torch

    from mmcmd.engine.runner_config import (
        adapt_to_device,
        build_runner,
        fix_worker_settings,
    )
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    cfg = build_config(args, folder, listing, variant, cuda)
    torch.set_num_threads(THREADS_AT_START)  # what tools/train.py starts with
    adapt_to_device(fix_worker_settings(cfg))  # as tools/train.py does
    threads = torch.get_num_threads()
    runner = build_runner(cfg)  # as tools/train.py does
    timer = Timer(args.warmup, sync)
    keep: dict = {}
    instrument(runner, timer, noop_outputs if variant == 'noop' else None,
               keep)
    profiler = None
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile
        activities = [ProfilerActivity.CPU] + (
            [ProfilerActivity.CUDA] if cuda else [])
        profiler = torch_profile(activities=activities)
        # the profiler covers the measured window (warm-up left out)
        original_close = timer.close
        original_fetch = timer.batch_fetched

        def fetch() -> None:
            original_fetch()
            if timer.iteration == args.warmup:
                profiler.__enter__()

        def close() -> None:
            original_close()
            profiler.__exit__(None, None, None)

        timer.batch_fetched, timer.close = fetch, close
    sampler = UtilisationSampler() if cuda else None
    if sampler is not None:
        sampler.start()
    try:
        runner.train()
    finally:
        if sampler is not None:
            sampler.stop()
    if timer.end is None:
        raise RuntimeError(f'{variant}: the measured window never closed')
    parts = median_parts(timer.records)
    parts.setdefault('data_wait', 0.0)
    parts.setdefault('preprocess', 0.0)
    window_ms = (timer.end - timer.start) * 1e3
    if variant != 'noop':
        parts['isolated_step'] = isolated_step_ms(runner, keep['data'],
                                                  args.step_iters, sync)
    if sampler is not None and sampler.samples:
        parts['gpu_utilisation'] = sum(sampler.samples) / len(
            sampler.samples)
    if profiler is not None:
        sort = 'cuda_time_total' if cuda else 'cpu_time_total'
        with open(profile, 'w') as f:
            f.write(profiler.key_averages().table(sort_by=sort,
                                                  row_limit=60))
    outputs = {key: value.detach() if hasattr(value, 'detach') else value
               for key, value in keep.get('outputs', {}).items()}
    batch = int(cfg.train_dataloader.batch_size)
    parts['samples_per_s'] = batch * len(timer.records) / window_ms * 1e3
    parts['main_threads'] = threads
    parts['worker_nice'] = cfg.env_cfg.get('loader_worker_nice', 0)
    return parts, outputs


def rows_of(variant: str, parts: Dict[str, float], cuda: bool) -> List[dict]:
    """JSON rows of one variant, with its loop overhead and ratio."""
    beside = parts.pop('beside_step')
    if variant != 'noop':
        parts['loop_over_step'] = parts['iteration'] / parts['isolated_step']
    # on a GPU the host-timed step is launch time: the step's cost there is
    # the isolated step's
    overhead = (parts['iteration'] - parts['data_wait'] -
                parts['isolated_step'] if cuda and variant != 'noop'
                else beside)
    parts['loop_overhead'] = overhead
    rows = []
    for name, value in parts.items():
        unit = {'gpu_utilisation': '%', 'samples_per_s': 'samples/s',
                'loop_over_step': 'ratio',
                'main_threads': 'threads',
                'worker_nice': 'niceness'}.get(name, 'ms')
        label = name if unit != 'ms' else f'{name}_ms'
        rows.append(dict(name=f'{variant}.{label}', value=round(value, 3),
                         unit=unit))
    return rows


def run(args: argparse.Namespace, folder: str) -> Tuple[List[dict], dict]:
    """Generate the videos, run every variant; return (rows, machine)."""
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    import torch

    from mmcmd.utils.setup_env import register_all_modules
    register_all_modules()
    cuda = torch.cuda.is_available()
    if args.device == 'cuda' and not cuda:
        raise SystemExit('error: --device cuda but torch sees no GPU')
    listing = generate_videos(folder, args.videos, args.size, args.frames,
                              max(args.workers or 1, 1))
    rows: List[dict] = []
    outputs: dict = {}
    order = [v for v in VARIANTS if v in args.variants]
    if 'noop' in order and 'real' not in order:
        order.insert(0, 'real')  # the no-op returns the real step's outputs
    for variant in order:
        print(f'== {variant}: {args.warmup} + {args.iters} iterations',
              flush=True)
        parts, out = run_variant(
            args, folder, listing, variant, cuda, outputs,
            args.profile if variant == 'real' else None)
        if variant == 'real':
            outputs = out
        if variant in args.variants:
            rows.extend(rows_of(variant, parts, cuda))
    if 'before' in args.variants and 'real' in args.variants:
        values = {row['name']: row['value'] for row in rows}
        rows.append(dict(
            name='before_over_real.iteration',
            value=round(values['before.iteration_ms'] /
                        values['real.iteration_ms'], 3), unit='ratio'))
    info = dict(python=platform.python_version(), torch=torch.__version__,
                cpu_count=os.cpu_count(), device='cuda' if cuda else 'cpu',
                torch_threads=torch.get_num_threads(),
                config=osp.relpath(args.config, REPO)
                if osp.abspath(args.config).startswith(osp.abspath(REPO))
                else osp.basename(args.config),
                videos=f'{args.videos} x {args.frames} frames '
                f'{args.size[0]}x{args.size[1]} H.264 GOP 16')
    if cuda:
        info['gpu'] = torch.cuda.get_device_name(0)
    return rows, info


#: torch's thread count at start-up, before any setting of this tool.
THREADS_AT_START = 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    global THREADS_AT_START
    args = parse_args(argv)
    import torch
    THREADS_AT_START = torch.get_num_threads()
    if args.json:  # its folder before the run, not after minutes of it
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
        rows, info = run(args, args.work_dir)
    else:
        with tempfile.TemporaryDirectory() as folder:
            rows, info = run(args, folder)
    for row in rows:
        print(f"{row['name']:<40} {row['value']:>10}  {row['unit']}")
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != 'json'}
        with open(args.json, 'w') as f:
            json.dump(dict(machine=info, config=config, rows=rows), f,
                      indent=2, default=str)
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
