"""Generate the synthetic scene-bias video benchmark (see README.md here).

Example, from the repository root::

    python tools/data/synthetic/generate.py --out data/synthetic --workers 2
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional, Tuple

from mmcmd.datasets.synthetic import (
    CALIBRATED,
    CLASSES,
    CODECS,
    SCENES,
    generate_dataset,
)


def parse_size(text: str) -> Tuple[int, int]:
    """Parse 'WxH' (pixels) into (width, height)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'size must look like 112x112 (WIDTHxHEIGHT), got {text!r}')
    return width, height


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of the generator."""
    parser = argparse.ArgumentParser(
        description=(
            'Write synthetic scene-bias videos: a textured object whose '
            f'motion is the class ({len(CLASSES)} classes) over a '
            f'procedural scene ({len(SCENES)} types) that matches the class '
            'in most train / test_same videos and is random in '
            'test_swapped. Writes DIR/{train,test_same,test_swapped}.txt '
            '(mmaction2 VideoDataset lists, paths relative to DIR), '
            'DIR/videos/ and DIR/meta.json.'),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--out', required=True, metavar='DIR',
                        help='output directory (created if missing)')
    parser.add_argument('--seed', type=int, default=0,
                        help='non-negative seed; the same seed gives the '
                        'same annotations, meta.json and decoded frames')
    parser.add_argument('--num-train-per-class', type=int,
                        default=CALIBRATED['num_train_per_class'],
                        metavar='N', help='train videos per class (the '
                        'calibrated benchmark)')
    parser.add_argument('--num-test-per-class', type=int, default=10,
                        metavar='N', help='videos per class in each of '
                        'test_same and test_swapped')
    parser.add_argument('--size', type=parse_size, default='112x112',
                        metavar='WxH', help='frame size in pixels, even')
    parser.add_argument('--frames', type=int, default=48,
                        help='frames per video')
    parser.add_argument('--fps', type=int, default=25,
                        help='frame rate written into the files')
    parser.add_argument('--codec', choices=sorted(CODECS), default='h264',
                        help='h264: libx264, GOP 16, 2 B-frames; mpeg4: '
                        'MPEG-4 Part 2, GOP 16, no B-frames')
    parser.add_argument('--own-scene-prob', type=float, default=0.85,
                        help='share of train / test_same videos shown in '
                        "their class's own scene")
    parser.add_argument('--scene-contrast', type=float,
                        default=CALIBRATED['scene_contrast'],
                        help='texture contrast of the scenes (default: the '
                        'calibrated benchmark): 1 = full texture, 0 = flat '
                        'colours (scene types still differ by palette)')
    parser.add_argument('--camera-motion', action='store_true',
                        help='pan the background slowly (0.5-1 px/frame, '
                        'random direction) in every video')
    parser.add_argument('--workers', type=int, default=1,
                        help='parallel processes; output does not depend '
                        'on it')
    parser.add_argument('--quiet', action='store_true',
                        help='no progress bar')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the generator; return the exit code."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        meta = generate_dataset(
            args.out, seed=args.seed,
            num_train_per_class=args.num_train_per_class,
            num_test_per_class=args.num_test_per_class, size=args.size,
            num_frames=args.frames, codec=args.codec,
            camera_motion=args.camera_motion,
            scene_contrast=args.scene_contrast,
            own_scene_prob=args.own_scene_prob, workers=args.workers,
            progress=not args.quiet, fps=args.fps)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    print(f"wrote {len(meta['videos'])} videos to {args.out} in "
          f'{seconds:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
