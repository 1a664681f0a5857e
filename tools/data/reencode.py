"""Re-encode videos so their motion vectors are clean for CMD.

Writes H.264 (default) or MPEG-4 Part 2 with a fixed GOP, no B-frames and
one reference frame, so every P-frame vector spans exactly one frame (see
docs/codec.md). The defaults follow the data the CMD reference trained on:
340x256 frames, a keyframe every 12 frames, no B-frames, one reference
(``--codec mpeg4`` adds its codec and quantiser 1: what the pretraining
configs read, docs/datasets.md). The default codec stays H.264, the codec
the CMD paper names (the reference code's decoder only reads MPEG-4 Part
2), with finer vectors (quarter-pel on blocks down to 4x4, against
half-pel on 16x16 or 8x8 blocks) and
about half the disk of the quantiser-1 MPEG-4 copy; the MPEG-4 copy samples
about 2x faster (docs/datasets.md). Audio is dropped.
Finished outputs are skipped, so an interrupted run resumes; a killed run
leaves no half-written file under the final name. The input folder
structure is kept under OUT_DIR.

Examples:
    python tools/data/reencode.py data/ucf101/videos \\
        data/ucf101/reencoded/videos --codec mpeg4 --workers 8
    python tools/data/reencode.py train_list.txt out/ --short-side 256 \\
        --workers 16 --shard 3/8

An OUT_DIR that is the input folder or lies inside it, or any output that
would be its own source, is refused with one line before any work (the
copies would be taken for finished outputs, or for inputs of the next run).

List files (``path [label]`` lines): a relative path is joined to
--data-prefix, else to the list file's own folder, never to the working
directory (the convention of every tool reading lists).

Exit status: 0 when every video was written or already done, 1 when some
failed (listed at the end), 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from functools import partial
from multiprocessing import Pool
from typing import List, Optional, Tuple

from mmcmd.codec import CodecError, CompressedVideo
from mmcmd.codec.encode import reencode
from mmcmd.utils.video_check import expand_inputs

EXTENSIONS = {'h264': '.mp4', 'mpeg4': '.avi'}
#: frame size of the reference's training data (width, height).
REFERENCE_SIZE = (340, 256)


def parse_size(text: str) -> Tuple[int, int]:
    """'340x256' -> (340, 256)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'size must look like 340x256, got {text!r}') from None
    return width, height


def parse_shard(text: str) -> Tuple[int, int]:
    """'3/8' -> (3, 8) with 0 <= 3 < 8."""
    try:
        index, count = (int(v) for v in text.split('/'))
    except ValueError:
        index, count = -1, 0
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(
            f'shard must be i/n with 0 <= i < n, got {text!r}')
    return index, count


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('input', help='folder of videos, or a list / '
                        'annotation file ("path [label]" lines)')
    parser.add_argument('out_dir', help='output folder (created)')
    parser.add_argument('--codec', choices=sorted(EXTENSIONS),
                        default='h264', help='output codec (default h264)')
    parser.add_argument('--gop', type=int, default=12,
                        help='keyframe interval in frames (default 12, '
                        "the reference's)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--size', type=parse_size, default=REFERENCE_SIZE,
                       help='output WIDTHxHEIGHT (default 340x256, the '
                       "reference's)")
    group.add_argument('--short-side', type=int,
                       help='scale so the short side has N pixels')
    group.add_argument('--keep-size', action='store_true',
                       help="keep each video's own frame size")
    parser.add_argument('--quality', type=int, help='CRF for h264 (default '
                        '18) or quantiser for mpeg4 (default 1, the '
                        "reference's); lower is better")
    parser.add_argument('--preset', default='medium',
                        help='x264 preset (default medium)')
    parser.add_argument('--data-prefix', help='folder that relative paths of '
                        "a list file start from (default: the list's folder)")
    parser.add_argument('--workers', type=int, default=1,
                        help='parallel processes (default 1)')
    parser.add_argument('--shard', type=parse_shard, default=(0, 1),
                        help='i/n: process only every n-th video from the '
                        'i-th (for job arrays)')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-encode outputs that already exist')
    return parser.parse_args(argv)


def plan(args: argparse.Namespace) -> List[Tuple[str, str]]:
    """(source, destination) pairs of this shard, sorted by source."""
    if osp.isdir(args.input):
        root = args.input
    else:
        root = args.data_prefix or osp.dirname(osp.abspath(args.input))
    paths, _ = expand_inputs([args.input], args.data_prefix)
    index, count = args.shard
    jobs = []
    for source in sorted(paths)[index::count]:
        relative = osp.relpath(osp.abspath(source), osp.abspath(root))
        if relative.startswith('..'):
            relative = osp.basename(source)
        stem = osp.splitext(relative)[0]
        jobs.append((source, osp.join(args.out_dir,
                                      stem + EXTENSIONS[args.codec])))
    return jobs


def same_place_problem(args: argparse.Namespace,
                       jobs: List[Tuple[str, str]]) -> Optional[str]:
    """Why the outputs would land on or among the inputs, else None."""
    out = osp.realpath(args.out_dir)
    if osp.isdir(args.input):
        source = osp.realpath(args.input)
        if out == source:
            return (f'the output folder {args.out_dir} is the input folder; '
                    'give another OUT_DIR')
        if out.startswith(source + os.sep):
            return (f'the output folder {args.out_dir} is inside the input '
                    f'folder {args.input}: the copies would be read as '
                    'inputs by the next run; give an OUT_DIR outside it')
    for source, target in jobs:
        if osp.realpath(source) == osp.realpath(target):
            return (f'{target} would overwrite its own source; give another '
                    'OUT_DIR')
    return None


def run_one(job: Tuple[str, str], args: argparse.Namespace
            ) -> Tuple[str, str, str]:
    """Re-encode one video; return (source, status, detail)."""
    source, target = job
    if osp.exists(target) and not args.overwrite:
        return source, 'skipped', ''
    os.makedirs(osp.dirname(target) or '.', exist_ok=True)
    try:
        # opened by the reader first, so an unreadable input gets the same
        # message as in every other tool (the path is printed once, by main)
        with CompressedVideo(source):
            pass
        size = None if args.short_side or args.keep_size else args.size
        frames = reencode(source, target, args.codec, args.gop, size,
                          args.short_side, args.quality, args.preset)
    except CodecError as error:
        return source, 'failed', f'{type(error).__name__}: {error.reason}'
    except Exception as error:  # report and go on with the next video
        return source, 'failed', f'{type(error).__name__}: {error}'
    return source, 'written', f'{frames} frames'


def main(argv: Optional[List[str]] = None) -> int:
    from tqdm import tqdm
    args = parse_args(argv)
    if not osp.exists(args.input):
        print(f'error: {args.input} does not exist', file=sys.stderr)
        return 2
    jobs = plan(args)
    problem = same_place_problem(args, jobs)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    if not jobs:
        print(f'no videos found in {args.input}', file=sys.stderr)
        return 1
    counts = {'written': 0, 'skipped': 0, 'failed': 0}
    failures = []
    work = partial(run_one, args=args)
    with Pool(args.workers) if args.workers > 1 else _Serial() as pool:
        for source, status, detail in tqdm(
                pool.imap_unordered(work, jobs), total=len(jobs),
                desc='re-encoding', unit='video'):
            counts[status] += 1
            if status == 'failed':
                failures.append(f'{source}: {detail}')
    print(f"written {counts['written']}, already done {counts['skipped']}, "
          f"failed {counts['failed']} (of {len(jobs)}) -> {args.out_dir}")
    for line in failures:
        print(f'  failed {line}', file=sys.stderr)
    return 1 if failures else 0


class _Serial:
    """In-process stand-in for multiprocessing.Pool (one worker)."""

    def __enter__(self) -> '_Serial':
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    @staticmethod
    def imap_unordered(func, items):
        return map(func, items)


if __name__ == '__main__':
    sys.exit(main())
