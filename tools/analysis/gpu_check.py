"""Does the loader keep a GPU fed? A real CMD training loop on generated videos.

Writes ``--videos`` panning videos in the recommended training format
(H.264, short side 128 = 170x128, GOP 16, no B-frames), points the CMD
pretraining config at them and runs mmengine's Runner for ``--iters``
iterations (an IterBasedTrainLoop, constant learning rate, no checkpoints,
bf16 autocast on a GPU) with ``--workers`` loader processes. Reports, over
the iterations after ``--skip``:

  loader_wait_share   time the loop waited for the next batch / total time
  loader_wait_ms      median wait for a batch (ms)
  step_ms             median model step, forward + backward + update (ms)
  samples_per_s       training samples per second
  gpu_utilisation     mean GPU utilisation (%) sampled every 0.5 s
                      (torch.cuda.utilization, else nvidia-smi)

JSON rows ``{"name", "value", "unit"}`` plus machine info, like the other
benchmarks. tools/analysis/gpu_check.sh runs it after benchmark_train.py.

Example (one GPU, 16 loader workers)::

    python tools/analysis/gpu_check.py --iters 300 --workers 16 \\
        --json train_loop.json
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
from multiprocessing import Pool
from typing import List, Optional, Tuple

CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs',
                  'cmd', 'cmd_r2plus1d-26_8xb8-16x4x1-120e_ucf101-rgb.py')


def parse_size(text: str) -> Tuple[int, int]:
    """'170x128' -> (170, 128)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'size must look like 170x128, got {text!r}') from None
    return width, height


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--config', default=CONFIG,
                        help='CMD pretraining config (default: R(2+1)D-26 '
                        'UCF101)')
    parser.add_argument('--iters', type=int, default=300,
                        help='training iterations (default 300)')
    parser.add_argument('--skip', type=int, default=20,
                        help='first iterations left out of the figures '
                        '(workers starting, cuDNN autotuning; default 20)')
    parser.add_argument('--workers', type=int, default=16,
                        help='loader worker processes (default 16)')
    parser.add_argument('--batch', type=int, help='clips per iteration '
                        "(default: the config's)")
    parser.add_argument('--videos', type=int, default=64,
                        help='generated videos (default 64)')
    parser.add_argument('--frames', type=int, default=120,
                        help='frames per generated video (default 120)')
    parser.add_argument('--size', type=parse_size, default=(170, 128),
                        help='WIDTHxHEIGHT of the generated videos (default '
                        '170x128: short side 128)')
    parser.add_argument('--device', default='auto',
                        choices=('auto', 'cuda', 'cpu'),
                        help="'cpu' hides the GPU (a dry run of the loop)")
    parser.add_argument('--amp', default='bf16', choices=('bf16', 'none'),
                        help='autocast dtype on the GPU (default bf16)')
    parser.add_argument('--work-dir', help='where videos and logs go '
                        '(default: a temporary folder, removed)')
    parser.add_argument('--json', help='write rows and machine info here')
    return parser.parse_args(argv)


# ---------------------------------------------------------------- data
def _write_video(job: Tuple[str, int, Tuple[int, int], int]) -> str:
    from mmcmd.codec.testing import write_panning_video
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


def make_wait_hook():
    """A Hook recording each iteration's wait for data and its step time."""
    import torch
    from mmengine.hooks import Hook

    class LoaderWaitHook(Hook):
        priority = 'VERY_HIGH'

        def __init__(self) -> None:
            self.waits: List[float] = []
            self.steps: List[float] = []
            self._mark = None

        def _sync(self) -> None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()

        def before_train(self, runner) -> None:
            self._sync()
            self._mark = time.perf_counter()

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            now = time.perf_counter()
            self.waits.append(now - self._mark)
            self._mark = now

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self._sync()
            now = time.perf_counter()
            self.steps.append(now - self._mark)
            self._mark = now

    return LoaderWaitHook()


# ---------------------------------------------------------------- loop
def build_config(args: argparse.Namespace, folder: str, listing: str,
                 cuda: bool):
    """The pretraining config on the generated videos, iteration-based."""
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    loader = cfg.train_dataloader
    loader.num_workers = args.workers
    loader.persistent_workers = args.workers > 0
    # no restart (and worker start-up) at the end of the 64-video epoch
    loader.sampler = dict(type='InfiniteSampler', shuffle=True)
    if args.batch:
        loader.batch_size = args.batch
    loader.dataset.ann_file = listing
    loader.dataset.data_prefix = dict(video=osp.join(folder, 'videos'))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters,
                         val_interval=args.iters + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.sync_bn = None
    cfg.launcher = 'none'
    cfg.work_dir = osp.join(folder, 'work_dir')
    if cuda and args.amp == 'bf16':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
    return cfg


def summarise(waits: List[float], steps: List[float], batch: int,
              skip: int) -> List[dict]:
    """Rows over the iterations after ``skip`` (all when too few)."""
    if len(waits) > skip:
        waits, steps = waits[skip:], steps[skip:]
    total = sum(waits) + sum(steps)
    return [
        dict(name='loader_wait_share', value=round(sum(waits) / total, 4),
             unit='fraction of loop time'),
        dict(name='loader_wait_ms',
             value=round(statistics.median(waits) * 1e3, 2), unit='ms'),
        dict(name='step_ms', value=round(statistics.median(steps) * 1e3, 2),
             unit='ms'),
        dict(name='samples_per_s', value=round(len(steps) * batch / total, 2),
             unit='samples/s'),
        dict(name='measured_iterations', value=len(steps), unit='iters'),
    ]


def run_loop(args: argparse.Namespace, folder: str) -> Tuple[List[dict],
                                                             dict]:
    """Generate the data, train, return (rows, machine info)."""
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    import torch
    from mmengine.runner import Runner

    import mmcmd  # noqa: F401  (registers the plugin)
    cuda = torch.cuda.is_available()
    if args.device == 'cuda' and not cuda:
        raise SystemExit('error: --device cuda but torch sees no GPU')
    listing = generate_videos(folder, args.videos, args.size, args.frames,
                              max(args.workers, 1))
    cfg = build_config(args, folder, listing, cuda)
    runner = Runner.from_cfg(cfg)
    hook = make_wait_hook()
    runner.register_hook(hook)
    sampler = UtilisationSampler() if cuda else None
    if sampler is not None:
        sampler.start()
    try:
        runner.train()
    finally:
        if sampler is not None:
            sampler.stop()
    batch = int(cfg.train_dataloader.batch_size)
    rows = summarise(hook.waits, hook.steps, batch, args.skip)
    if sampler is not None and sampler.samples:
        rows.append(dict(name='gpu_utilisation',
                         value=round(statistics.mean(sampler.samples), 1),
                         unit='%'))
    info = dict(python=platform.python_version(), torch=torch.__version__,
                cpu_count=os.cpu_count(), device='cuda' if cuda else 'cpu',
                workers=args.workers, batch=batch, amp=args.amp if cuda
                else 'none', videos=f'{args.videos} x {args.frames} frames '
                f'{args.size[0]}x{args.size[1]} H.264 GOP 16')
    if cuda:
        info['gpu'] = torch.cuda.get_device_name(0)
    return rows, info


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.iters < 1 or args.videos < 1:
        print('error: --iters and --videos must be >= 1', file=sys.stderr)
        return 2
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
        rows, info = run_loop(args, args.work_dir)
    else:
        with tempfile.TemporaryDirectory() as folder:
            rows, info = run_loop(args, folder)
    for row in rows:
        print(f"{row['name']:<22} {row['value']:>10}  {row['unit']}")
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != 'json'}
        with open(args.json, 'w') as f:
            json.dump(dict(machine=info, config=config, rows=rows), f,
                      indent=2)
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
