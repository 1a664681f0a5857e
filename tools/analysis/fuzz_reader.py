"""Fuzz the compressed-domain reader with mutated copies of valid videos.

Each mutant (bytes flipped, cut, duplicated, zeroed or swapped; seeded) is
opened, indexed and decoded (RGB frames, keyframe, motion) in a worker
process with a time limit. Outcomes:

  ok           read fine
  codec_error  a documented mmcmd.codec exception (CodecError subclass)
  exception    any other Python exception            (a reader bug)
  invalid      output breaking the documented shapes  (a reader bug)
  crash        the worker died by a signal            (a reader bug)
  hang         no result within --timeout seconds     (a reader bug)

Without --videos, four small test videos are generated (H.264 with
B-frames in MP4, H.264 B-pyramid in MKV, MPEG-4 Part 2 in AVI, MPEG-2 in
MPEG-PS). Exit status: 0 when no bug was seen, 1 otherwise, 2 for bad
arguments.

Example:
    python tools/analysis/fuzz_reader.py --fuzz 1000 --seed 0 --workers 2 \\
        --json fuzz.json
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import sys
import tempfile
import time
from collections import Counter
from typing import Dict, List, Optional

try:
    import mmcmd  # noqa: F401
except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))

from mmcmd.utils.fuzz import (BUG_OUTCOMES, MUTATORS, OUTCOMES,  # noqa: E402
                              FuzzResult, run_isolated, summarize,
                              write_mutants)

#: name -> (file name, write_panning_video keyword arguments).
SEED_VIDEOS = {
    'h264_bframes': ('h264_bframes.mp4',
                     dict(codec='h264', gop=10, bframes=2)),
    'h264_pyramid': ('h264_pyramid.mkv',
                     dict(codec='h264', gop=12, bframes=3, refs=3,
                          pyramid=True)),
    'mpeg4': ('mpeg4.avi', dict(codec='mpeg4', gop=8)),
    'mpeg2': ('mpeg2.mpg', dict(codec='mpeg2video', gop=6, bframes=2)),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--fuzz', type=int, required=True, metavar='N',
                        help='number of mutated files to run')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the mutations (default 0)')
    parser.add_argument('--workers', type=int, default=1,
                        help='worker processes at once (default 1)')
    parser.add_argument('--videos', nargs='+', metavar='VIDEO',
                        help='valid videos to mutate (default: generated)')
    parser.add_argument('--mutators', nargs='+', choices=sorted(MUTATORS),
                        help='mutators used in turn (default: random)')
    parser.add_argument('--json', help='write the summary and every result '
                        'here')
    parser.add_argument('--keep', metavar='DIR', help='write the mutants '
                        'into DIR and keep them (default: a temporary '
                        'folder; any mutant can be made again from its '
                        'seed)')
    parser.add_argument('--batch-size', type=int, default=16,
                        help='files per worker process (default 16)')
    parser.add_argument('--timeout', type=float, default=30.0,
                        help='seconds per file before it counts as a hang')
    parser.add_argument('--budget', type=float, default=10.0,
                        help="the reader's decode_budget_s (seconds)")
    args = parser.parse_args(argv)
    if args.fuzz < 1 or args.workers < 1 or args.batch_size < 1:
        parser.error('--fuzz, --workers and --batch-size must be >= 1')
    for video in args.videos or ():
        if not osp.isfile(video):
            parser.error(f'no such video: {video}')
    return args


def write_seed_videos(out_dir: str) -> List[str]:
    """Write the default valid videos (96x64, 30 frames); return paths."""
    from mmcmd.codec.testing import write_panning_video
    return [write_panning_video(osp.join(out_dir, name), size=(96, 64),
                                frames=30, motion=(1.5, -1.0), **kwargs)
            for name, kwargs in SEED_VIDEOS.values()]


def summary_table(results: List[FuzzResult], mutators: Dict[str, str]
                  ) -> str:
    """Counts per outcome (rows) and per mutator (columns), as text."""
    names = sorted(set(mutators.values()))
    cells = Counter((r.outcome, mutators[r.path]) for r in results)
    total = summarize(results)
    header = f'{"outcome":<12}{"count":>7}{"share":>8}  ' + ''.join(
        f'{n:>16}' for n in names)
    lines = [header, '-' * len(header)]
    for outcome in OUTCOMES:
        share = total[outcome] / max(len(results), 1)
        lines.append(f'{outcome:<12}{total[outcome]:>7}{share:>8.1%}  '
                     + ''.join(f'{cells[outcome, n]:>16}' for n in names))
    errors = Counter(r.error_type for r in results
                     if r.outcome == 'codec_error')
    lines.append('codec errors: ' + ', '.join(
        f'{k} {v}' for k, v in errors.most_common()))
    return '\n'.join(lines)


def machine_info() -> Dict:
    """Python, platform and library versions of this run."""
    import av
    import numpy
    return dict(python=platform.python_version(), machine=platform.machine(),
                processor=platform.processor(), cpus=os.cpu_count(),
                av=av.__version__, numpy=numpy.__version__)


def main(argv: Optional[List[str]] = None) -> int:
    from tqdm import tqdm
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='fuzz_reader_') as scratch:
        sources = args.videos or write_seed_videos(scratch)
        mutants = write_mutants(sources, args.fuzz,
                                args.keep or osp.join(scratch, 'mutants'),
                                seed=args.seed, mutators=args.mutators)
        by_path = {m.path: m for m in mutants}
        start = time.perf_counter()
        with tqdm(total=len(mutants), desc='fuzzing', unit='file') as bar:
            results = run_isolated(
                [m.path for m in mutants], batch_size=args.batch_size,
                workers=args.workers, timeout_s=args.timeout,
                decode_budget_s=args.budget, progress=lambda r: bar.update())
        wall_s = time.perf_counter() - start
    mutator_of = {p: m.mutator for p, m in by_path.items()}
    print(summary_table(results, mutator_of))
    print(f'{len(results)} files in {wall_s:.1f} s with {args.workers} '
          f'worker(s) ({wall_s / len(results) * 1000:.1f} ms per file)')
    bugs = [r for r in results if r.outcome in BUG_OUTCOMES]
    for result in bugs[:20]:
        mutant = by_path[result.path]
        print(f'  BUG {result.outcome}: {osp.basename(result.path)} '
              f'(source {mutant.source}, seed {list(mutant.seed)}, '
              f'{mutant.mutator}): {result.error_type} '
              f'{result.message.strip().splitlines()[-1:]}')
    if args.json:
        rows = []
        for result in results:
            mutant = by_path[result.path]
            rows.append(dict(result.to_dict(), source=mutant.source,
                             mutator=mutant.mutator, seed=list(mutant.seed)))
        with open(args.json, 'w') as f:
            json.dump(dict(command=['tools/analysis/fuzz_reader.py']
                           + list(argv if argv is not None else sys.argv[1:]),
                           seed=args.seed, files=len(results),
                           workers=args.workers, wall_s=round(wall_s, 2),
                           summary=summarize(results),
                           machine=machine_info(), results=rows), f,
                      indent=1)
    return 1 if bugs else 0


if __name__ == '__main__':
    sys.exit(main())
