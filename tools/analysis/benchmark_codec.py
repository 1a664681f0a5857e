"""Benchmark compressed-domain reading against RGB decoding and optical flow.

One process, one thread everywhere (FFmpeg decoder, OpenCV, torch). Rows
(median over --repeat runs):

  rgb_decode      PyAV decode + RGB conversion of every frame        frames/s
  mv_export       PyAV decode + motion-vector side data to numpy     frames/s
  motion_field    CompressedVideo: index + decode + 4x4-cell fields  frames/s
  keyframes       as motion_field, plus the RGB keyframe of each GOP frames/s
  cmd_sample      one CMD training sample: 16x4 RGB clip, 8 future and
                  3x8 negative motion frames, 1 keyframe, in ONE decode()
                  call, cropped and resized to 112x112 (cv2)        samples/s
  mmaction_pyav_mv_sample  the same sample with mmaction2's PyAVInit /
                  PyAVDecode / PyAVDecodeMotionVector + cv2        samples/s
  cmd_train_pipeline  the same sample through the CMD pretraining config's
                  train_pipeline (decode, crops, flips, colour
                  augmentation, motion normalisation, packing)     samples/s
  farneback / dis_medium / tvl1   OpenCV optical flow on consecutive
                  grayscale frames (tvl1 only with opencv-contrib)  frames/s

plus ratio rows measured in the same run. Without VIDEO a 340x256 H.264
test video (x264 CRF 23, about 600 kbit/s; GOP 16, no B-frames, one
reference frame, as in the earlier figures of docs/performance.md) is
generated in a temporary folder.

The recommended training format: each video is also re-encoded as
``tools/data/reencode.py --short-side 128 --quality 23`` writes it (the
size the network's 112x112 crops are taken from, x264's default CRF), and
cmd_sample and cmd_train_pipeline are measured on that copy too (rows
``..._short_side_128``, with their ratio to the source's row).

Example:
    python tools/analysis/benchmark_codec.py --clock cpu --json codec_bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import numpy as np

from mmcmd.codec import CompressedVideo

CROP = 112
PIPELINE_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..',
                           'configs', '_base_', 'datasets',
                           'cmd_pretrain_ucf101.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('videos', nargs='*', metavar='VIDEO',
                        help='videos to read (default: a generated one)')
    parser.add_argument('--json', help='write rows and machine info here')
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs per row; the median is reported')
    parser.add_argument('--frames', type=int, default=300,
                        help='frames of the generated video (default 300)')
    parser.add_argument('--flow-frames', type=int, default=40,
                        help='frame pairs per optical-flow run (default 40)')
    parser.add_argument('--samples', type=int, default=30,
                        help='cmd_sample samples per run (default 30)')
    parser.add_argument('--mmaction-samples', type=int, default=4,
                        help='mmaction samples per run (default 4)')
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                        help='wall time, or CPU time of this process (for '
                        'shared machines; all work here is single-threaded)')
    parser.add_argument('--short-side', type=int, default=128,
                        help='also measure the CMD sample on a re-encode '
                        'with this short side (pixels; 0: skip)')
    parser.add_argument('--quality', type=int, default=23,
                        help='CRF of that re-encode (default 23, as the '
                        'generated source; reencode.py --quality)')
    parser.add_argument('--pipeline-config', default=PIPELINE_CONFIG,
                        help='config whose train_pipeline the '
                        'cmd_train_pipeline row runs (default: the CMD '
                        'pretraining data config)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def single_thread() -> None:
    """One thread for OpenCV and torch (FFmpeg is set per decoder)."""
    import cv2
    cv2.setNumThreads(1)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


def timed(clock: str) -> Callable[[], float]:
    return time.process_time if clock == 'cpu' else time.perf_counter


def measure(work: Callable[[], int], repeat: int, clock: Callable[[], float]
            ) -> float:
    """Median rate (items per second) of ``work``, which returns its count.

    One untimed run first, so that no row pays for first-use costs (lazy
    imports, caches, the allocator growing its heap).
    """
    work()
    rates = []
    for _ in range(repeat):
        start = clock()
        count = work()
        rates.append(count / max(clock() - start, 1e-9))
    return statistics.median(rates)


# ---------------------------------------------------------------- decoding
def rgb_decode(path: str) -> int:
    import av
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        count = 0
        for frame in container.decode(stream):
            frame.to_ndarray(format='rgb24')
            count += 1
    return count


def mv_export(path: str) -> int:
    import av
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        stream.codec_context.options = {'flags2': '+export_mvs'}
        count = 0
        for frame in container.decode(stream):
            side = frame.side_data.get('MOTION_VECTORS')
            if side is not None:
                side.to_ndarray()
            count += 1
    return count


def motion_field(path: str, keyframes: bool = False) -> int:
    with CompressedVideo(path) as video:
        frames = np.arange(video.num_frames)
        video.decode(motion=frames,
                     keyframes=video.index.keyframes if keyframes else ())
    return len(frames)


# ---------------------------------------------------------------- sampling
def draw_sample(num_frames: int, keyframe_for: Callable[[int], int],
                rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """CMD reference sampling: 16x4 clip, future 8, 3 negatives, keyframe."""
    span = 15 * 4 + 1 + 2 + 8
    start = int(rng.integers(max(num_frames - span, 0) + 1))
    clip = (start + np.arange(16) * 4) % num_frames
    future = (clip[-1] + 3 + np.arange(8)) % num_frames
    starts = np.arange(max(num_frames - 7, 1))
    valid = starts[np.abs(starts - future[0]) >= 8]
    negatives = [s + np.arange(8) for s in rng.choice(
        valid if valid.size else starts, 3)]
    near = int(np.clip(rng.integers(clip[0] - 5, clip[-1] + 6), 0,
                       num_frames - 1))
    return dict(clip=clip, future=future, negatives=np.stack(negatives),
                keyframe=keyframe_for(near))


def crop_resize(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random 0.2-1.0 area crop of (T, H, W, C), each frame resized to 112."""
    import cv2
    height, width = images.shape[1:3]
    side = int(np.sqrt(rng.uniform(0.2, 1.0) * height * width))
    side = min(side, height, width)
    y = int(rng.integers(height - side + 1))
    x = int(rng.integers(width - side + 1))
    return np.stack([cv2.resize(f, (CROP, CROP))
                     for f in images[:, y:y + side, x:x + side]])


def cmd_sample(path: str, rng: np.random.Generator, samples: int) -> int:
    for _ in range(samples):
        with CompressedVideo(path) as video:
            pick = draw_sample(video.num_frames, video.keyframe_for, rng)
            motion = np.concatenate([pick['future'],
                                     pick['negatives'].reshape(-1)])
            out = video.decode(rgb=pick['clip'], motion=motion,
                               keyframes=[pick['keyframe']])
        crop_resize(out.rgb, rng)
        crop_resize(out.keyframes, rng)
        fields = out.motion.transpose(0, 2, 3, 1)  # (T, h, w, 2) for cv2
        crop_resize(fields[:8], rng)
        for window in range(3):
            crop_resize(fields[8 + 8 * window:16 + 8 * window], rng)
    return samples


def train_pipeline(config: str) -> Callable[[dict], dict]:
    """The ``train_pipeline`` of ``config``, built from mmaction's registry."""
    from mmaction.registry import TRANSFORMS
    from mmcv.transforms import Compose
    from mmengine.config import Config

    import mmcmd.datasets.transforms  # noqa: F401  (registers them)
    return Compose([TRANSFORMS.build(step)
                    for step in Config.fromfile(config).train_pipeline])


def pipeline_sample(path: str, pipeline: Callable[[dict], dict],
                    samples: int) -> int:
    """``samples`` packed training samples of ``path`` (numpy's global
    random state drives the pipeline's sampling, as in a loader worker)."""
    for _ in range(samples):
        pipeline(dict(filename=path))
    return samples


def mmaction_sample(path: str, rng: np.random.Generator, samples: int,
                    keyframe_for: Callable[[int], int], num_frames: int
                    ) -> int:
    from mmaction.datasets.transforms import (
        PyAVDecode,
        PyAVDecodeMotionVector,
        PyAVInit,
    )
    init, decode = PyAVInit(), PyAVDecode()
    decode_mv = PyAVDecodeMotionVector()
    for _ in range(samples):
        pick = draw_sample(num_frames, keyframe_for, rng)
        rgb = decode(init(dict(filename=path, frame_inds=np.append(
            pick['clip'], pick['keyframe']))))['imgs']
        motion = decode_mv(init(dict(filename=path, frame_inds=np.append(
            pick['future'], pick['negatives'].reshape(-1)))))['motion_vectors']
        crop_resize(np.stack(rgb[:16]), rng)
        crop_resize(np.stack(rgb[16:]), rng)
        fields = motion.astype(np.float32)
        crop_resize(fields[:8], rng)
        for window in range(3):
            crop_resize(fields[8 + 8 * window:16 + 8 * window], rng)
    return samples


# ---------------------------------------------------------------- flow
def gray_frames(path: str, count: int) -> List[np.ndarray]:
    import av
    with av.open(path) as container:
        frames = []
        for frame in container.decode(video=0):
            gray = frame.to_ndarray(format='gray')
            frames.append(np.ascontiguousarray(gray))
            if len(frames) > count:
                break
    return frames


def flow_rate(method: str, frames: List[np.ndarray]) -> Callable[[], int]:
    import cv2
    if method == 'farneback':
        def step(a, b):
            cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    elif method == 'dis_medium':
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

        def step(a, b):
            dis.calc(a, b, None)
    else:
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()

        def step(a, b):
            tvl1.calc(a, b, None)

    def work() -> int:
        for a, b in zip(frames[:-1], frames[1:]):
            step(a, b)
        return len(frames) - 1
    return work


# ---------------------------------------------------------------- report
def machine_info() -> Dict[str, str]:
    import av
    import cv2
    info = dict(cpu=_cpu_name(), logical_cores=str(os.cpu_count()),
                python=platform.python_version(), numpy=np.__version__,
                av=av.__version__, opencv=cv2.__version__,
                libavcodec='.'.join(
                    map(str, av.library_versions['libavcodec'])),
                threads='1 (FFmpeg decoder, OpenCV, torch)')
    try:
        import torch
        info['torch'] = torch.__version__
    except ImportError:
        info['torch'] = 'not installed'
    return info


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def generated_video(folder: str, frames: int) -> str:
    from mmcmd.codec.samples import write_panning_video
    return write_panning_video(osp.join(folder, 'bench_340x256.mp4'),
                               codec='h264', size=(340, 256), frames=frames,
                               motion=(1.5, 0.5), gop=16, quality=23)


def training_format(path: str, folder: str, short_side: int,
                    quality: int) -> str:
    """``path`` re-encoded as ``tools/data/reencode.py --short-side N
    --quality Q`` writes it (H.264, GOP 12, no B-frames, one reference)."""
    from mmcmd.codec.encode import reencode
    stem = osp.splitext(osp.basename(path))[0]
    target = osp.join(folder, f'{stem}_short_side_{short_side}.mp4')
    reencode(path, target, 'h264', short_side=short_side, quality=quality)
    return target


def benchmark(path: str, args: argparse.Namespace, folder: str
              ) -> List[dict]:
    """All rows for one video (re-encodes written into ``folder``)."""
    import cv2
    from tqdm import tqdm
    clock = timed(args.clock)
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)  # the pipeline's sampling
    with CompressedVideo(path) as video:
        num_frames, index = video.num_frames, video.index
    gray = gray_frames(path, args.flow_frames)
    pipeline = train_pipeline(args.pipeline_config)
    jobs = [
        ('rgb_decode', 'frames/s', lambda: rgb_decode(path)),
        ('mv_export', 'frames/s', lambda: mv_export(path)),
        ('motion_field', 'frames/s', lambda: motion_field(path)),
        ('keyframes', 'frames/s', lambda: motion_field(path, True)),
        ('cmd_sample', 'samples/s',
         lambda: cmd_sample(path, rng, args.samples)),
        ('cmd_train_pipeline', 'samples/s',
         lambda: pipeline_sample(path, pipeline, args.samples)),
        ('mmaction_pyav_mv_sample', 'samples/s',
         lambda: mmaction_sample(path, rng, args.mmaction_samples,
                                 index.keyframe_for, num_frames)),
        ('farneback', 'frames/s', flow_rate('farneback', gray)),
        ('dis_medium', 'frames/s', flow_rate('dis_medium', gray)),
    ]
    if hasattr(cv2, 'optflow'):
        jobs.append(('tvl1', 'frames/s', flow_rate('tvl1', gray[:4])))
    ratios = [('motion_field', 'mv_export'), ('motion_field', 'farneback'),
              ('cmd_sample', 'mmaction_pyav_mv_sample')]
    if args.short_side:
        small = training_format(path, folder, args.short_side,
                                args.quality)
        tag = f'_short_side_{args.short_side}'
        jobs[6:6] = [
            ('cmd_sample' + tag, 'samples/s',
             lambda: cmd_sample(small, rng, args.samples)),
            ('cmd_train_pipeline' + tag, 'samples/s',
             lambda: pipeline_sample(small, pipeline, args.samples))]
        ratios += [('cmd_sample' + tag, 'cmd_sample'),
                   ('cmd_train_pipeline' + tag, 'cmd_train_pipeline')]
    rows = []
    for name, unit, work in tqdm(jobs, desc=osp.basename(path), unit='row'):
        source = (f'{path}, re-encoded to short side {args.short_side} '
                  f'(CRF {args.quality})' if '_short_side_' in name else path)
        rows.append(dict(name=name, value=round(measure(work, args.repeat,
                                                        clock), 2),
                         unit=unit, video=source))
    value = {row['name']: row['value'] for row in rows}
    for top, bottom in ratios:
        rows.append(dict(name=f'{top}/{bottom}', unit='ratio', video=path,
                         value=round(value[top] / max(value[bottom], 1e-9),
                                     3)))
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    single_thread()
    with tempfile.TemporaryDirectory() as folder:
        videos = args.videos or [generated_video(folder, args.frames)]
        rows: List[dict] = []
        for path in videos:
            rows.extend(benchmark(path, args, folder))
        if not args.videos:
            label = f'generated 340x256 H.264, {args.frames} frames'
            for row in rows:
                row['video'] = row['video'].replace(videos[0], label)
    print(f"{'row':<48} {'value':>10}  unit")
    for row in rows:
        print(f"{row['name']:<48} {row['value']:>10.2f}  {row['unit']}")
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != 'json'}
        with open(args.json, 'w') as f:
            json.dump(dict(machine=machine_info(), config=config, rows=rows),
                      f, indent=2)
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
