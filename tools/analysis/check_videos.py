"""Check that videos open, decode and carry motion vectors, in parallel.

Examples:
    python tools/analysis/check_videos.py data/ucf101/videos \\
        --json report.json
    python tools/analysis/check_videos.py \\
        data/ucf101/ucf101_train_split_1_videos.txt \\
        --data-prefix data/ucf101/videos --write-clean train_clean.txt \\
        --workers 8

Exit status: 0 (also with bad videos, unless --strict), 1 with --strict
when a video is bad, 2 when the inputs hold no video.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from functools import partial
from multiprocessing import Pool

from mmcmd.utils.video_check import check_video, expand_inputs


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('inputs', nargs='+', help='video files, folders, '
                        'annotation files ("path label" lines) or text '
                        'files listing paths')
    parser.add_argument('--data-prefix', help='folder that relative paths of '
                        'annotation files start from (default: the '
                        "annotation file's folder)")
    parser.add_argument('--json', help='write the per-video report here')
    parser.add_argument('--write-clean', metavar='ANN', help='write the '
                        'lines of the input annotation file(s) whose video '
                        'is ok to ANN')
    parser.add_argument('--workers', type=int, default=2,
                        help='parallel processes (default 2)')
    parser.add_argument('--rgb-only', action='store_true', help='do not '
                        'require motion vectors (for finetuning data)')
    parser.add_argument('--min-frames', type=int, default=1,
                        help='fewer frames count as bad (e.g. 61 for a '
                        '16x4 clip)')
    parser.add_argument('--full-decode', action='store_true', help='decode '
                        'every frame instead of the first and last GOP')
    parser.add_argument('--budget', type=float, default=60.0,
                        help='seconds allowed per video before it counts '
                        'as hanging')
    parser.add_argument('--strict', action='store_true',
                        help='exit with status 1 when any video is bad')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from tqdm import tqdm
    args = parse_args(argv)
    paths, annotations = expand_inputs(args.inputs, args.data_prefix)
    if not paths:
        print('error: no videos found in the inputs', file=sys.stderr)
        return 2
    check = partial(check_video, require_motion=not args.rgb_only,
                    min_frames=args.min_frames, full_decode=args.full_decode,
                    decode_budget_s=args.budget)
    if args.workers > 1:
        with Pool(args.workers) as pool:
            reports = list(tqdm(pool.imap(check, paths, chunksize=4),
                                total=len(paths), desc='checking videos',
                                unit='video'))
    else:
        reports = [check(p) for p in tqdm(paths, desc='checking videos',
                                          unit='video')]
    bad = [r for r in reports if not r['ok']]
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(reports, f, indent=1)
    if args.write_clean:
        if not annotations:
            print('error: --write-clean needs an annotation file among the '
                  'inputs', file=sys.stderr)
            return 2
        good = {r['path'] for r in reports if r['ok']}
        with open(args.write_clean, 'w') as f:
            for rows in annotations.values():
                f.writelines(line + '\n' for path, line in rows
                             if path in good)
    codecs = Counter(r.get('codec', '?') for r in reports)
    print(f'{len(reports) - len(bad)} of {len(reports)} videos ok; codecs: '
          + ', '.join(f'{k} {v}' for k, v in codecs.most_common()))
    for report in bad[:20]:
        print(f'  BAD {report["path"]}: {report["reason"]}')
    if len(bad) > 20:
        print(f'  ... and {len(bad) - 20} more (see --json)')
    return 1 if (args.strict and bad) else 0


if __name__ == '__main__':
    sys.exit(main())
