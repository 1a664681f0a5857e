"""Check that videos open, decode and carry motion vectors, in parallel.

Each video also gets a motion verdict (mmcmd.codec.motion_verdict):
``exact`` (one reference frame, no reference B-frames: every normalised
vector is right), ``approximate: <reason>`` or ``none: <reason>``. The
summary counts them by reason and prints the tools/data/reencode.py command
that turns the inputs into exact-motion copies (the reference's recipe).

Examples:
    python tools/analysis/check_videos.py data/ucf101/videos \\
        --json report.json --table
    python tools/analysis/check_videos.py \\
        data/ucf101/ucf101_train_split_1_videos.txt \\
        --data-prefix data/ucf101/videos --write-clean train_clean.txt \\
        --workers 8

--write-clean ANN writes the input annotation lines whose video is ok, in
order, and replaces ANN in one step, only when at least one line is kept:
a run in which no video is usable (a wrong --data-prefix, a list of other
files, every video bad) leaves an existing ANN as it was.

Exit status: 0 (also with bad videos, unless --strict), 1 with --strict
when a video is bad, 2 with a one-line error when an input does not exist
or is neither a video, a folder nor a readable list, when the inputs hold
no video, when no video could be read, or when --write-clean would keep
no line (the file is not written then).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import shlex
import sys
import tempfile
from collections import Counter
from functools import partial
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence

from mmcmd.utils.video_check import check_video, expand_inputs

#: suffixes of inputs read as annotation files / path lists.
LIST_SUFFIXES = ('.txt', '.list', '.csv')


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
                        'is ok to ANN (replaced in one step; left as it is '
                        'when no line would be kept)')
    parser.add_argument('--workers', type=int, default=2,
                        help='parallel processes (default 2)')
    parser.add_argument('--rgb-only', action='store_true', help='do not '
                        'require motion vectors (for finetuning data; no '
                        'motion summary)')
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
    parser.add_argument('--table', action='store_true', help='print one '
                        'row per video (path, ok, codec, frames, motion); '
                        'by default only videos whose motion is not exact')
    return parser.parse_args(argv)


def list_problem(path: str, data_prefix: Optional[str]) -> Optional[str]:
    """Why the list ``path`` holds no usable path (None when one of its
    paths exists): not text, empty, or none of its first fields exists."""
    base = data_prefix or osp.dirname(osp.abspath(path))
    try:
        with open(path, encoding='utf-8') as f:
            rows = [line.split()[0].split(',')[0] for line in f
                    if line.strip()]
    except UnicodeDecodeError:
        return f'{path} is not a text list of videos (not UTF-8 text)'
    if not rows:
        return f'{path} lists no video (it is empty)'
    paths = [r if osp.isabs(r) else osp.join(base, r) for r in rows]
    if any(osp.exists(p) for p in paths):
        return None
    return (f'none of the {len(paths)} paths listed in {path} exists (the '
            f'first: {paths[0]}); is it a list of videos (first field the '
            'path) and is --data-prefix the folder its paths start from?')


def input_problem(inputs: Sequence[str],
                  data_prefix: Optional[str]) -> Optional[str]:
    """The first input that does not exist or is an unusable list; None
    when every input can be checked."""
    if data_prefix and not osp.isdir(data_prefix):
        return f'--data-prefix {data_prefix} is not a folder'
    for item in inputs:
        if not osp.exists(item):
            return f'no such file or folder: {item}'
        if not osp.isdir(item) and item.lower().endswith(LIST_SUFFIXES):
            problem = list_problem(item, data_prefix)
            if problem:
                return problem
    return None


def write_atomically(path: str, lines: Sequence[str]) -> None:
    """Write ``lines`` to ``path`` through a temporary file in its folder,
    so that ``path`` is either the old file or the complete new one."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.clean-', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            f.writelines(line + '\n' for line in lines)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def clean_lines(reports: List[Dict], annotations: Dict[str, List]
                ) -> List[str]:
    """The annotation lines whose video is ok, in input order."""
    good = {r['path'] for r in reports if r['ok']}
    return [line for rows in annotations.values() for path, line in rows
            if path in good]


def run_checks(paths: List[str], args: argparse.Namespace) -> List[Dict]:
    """The report of every video, with a progress bar on stderr."""
    from tqdm import tqdm
    check = partial(check_video, require_motion=not args.rgb_only,
                    min_frames=args.min_frames, full_decode=args.full_decode,
                    decode_budget_s=args.budget)
    if args.workers > 1:
        with Pool(args.workers) as pool:
            return list(tqdm(pool.imap(check, paths, chunksize=4),
                             total=len(paths), desc='checking videos',
                             unit='video'))
    return [check(p) for p in tqdm(paths, desc='checking videos',
                                   unit='video')]


def print_summary(reports: List[Dict]) -> None:
    """Counts, codecs and the first 20 bad videos with their reasons."""
    bad = [r for r in reports if not r['ok']]
    codecs = Counter(r.get('codec', '?') for r in reports)
    print(f'{len(reports) - len(bad)} of {len(reports)} videos ok; codecs: '
          + ', '.join(f'{k} {v}' for k, v in codecs.most_common()))
    for report in bad[:20]:
        print(f'  BAD {report["path"]}: {report["reason"]}')
    if len(bad) > 20:
        print(f'  ... and {len(bad) - 20} more (see --json)')


def is_readable(report: Dict) -> bool:
    """Whether the video opened (it has a video stream whose codec was
    read), usable or not."""
    return report.get('codec') is not None


def none_readable(reports: List[Dict], args: argparse.Namespace) -> str:
    """The one-line error of a run in which no video opened."""
    first = reports[0]
    unchanged = (f'; {args.write_clean} was not written'
                 if args.write_clean else '')
    return (f'error: none of the {len(reports)} videos could be read (the '
            f'first, {first["path"]}: {first["reason"]}); are the inputs '
            f'videos and is --data-prefix right?{unchanged}')


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = input_problem(args.inputs, args.data_prefix)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    paths, annotations = expand_inputs(args.inputs, args.data_prefix)
    if not paths:
        print('error: no videos found in the inputs', file=sys.stderr)
        return 2
    if args.write_clean and not annotations:
        print('error: --write-clean needs an annotation file among the '
              'inputs', file=sys.stderr)
        return 2
    reports = run_checks(paths, args)
    bad = [r for r in reports if not r['ok']]
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(reports, f, indent=1)
    print_summary(reports)
    if not args.rgb_only or args.table:  # motion is not used by RGB data
        print_motion(reports, args, annotations, full_table=args.table)
    if not any(is_readable(r) for r in reports):
        print(none_readable(reports, args), file=sys.stderr)
        return 2
    if args.write_clean:
        lines = clean_lines(reports, annotations)
        if not lines:
            print('error: no line of the annotation file(s) names a usable '
                  f'video; {args.write_clean} was not written',
                  file=sys.stderr)
            return 2
        write_atomically(args.write_clean, lines)
    return 1 if (args.strict and bad) else 0


def reencode_target(root: str) -> str:
    """Suggested output folder for ``root``: ``<parent>/reencoded/<name>``
    (data/ucf101/videos -> data/ucf101/reencoded/videos)."""
    root = osp.normpath(root)
    return osp.join(osp.dirname(root), 'reencoded', osp.basename(root))


def fix_commands(args: argparse.Namespace,
                 annotations: Dict[str, List]) -> List[str]:
    """The tools/data/reencode.py commands that re-encode the inputs."""
    commands = []
    workers = f' --workers {args.workers}' if args.workers > 1 else ''
    for item in args.inputs:
        if item in annotations:
            root = args.data_prefix or osp.dirname(osp.abspath(item))
            commands.append(
                f'python tools/data/reencode.py {shlex.quote(item)} '
                f'{shlex.quote(reencode_target(root))} --data-prefix '
                f'{shlex.quote(root)} --codec mpeg4{workers}')
        elif osp.isdir(item):
            commands.append(
                f'python tools/data/reencode.py {shlex.quote(item)} '
                f'{shlex.quote(reencode_target(item))} --codec mpeg4'
                f'{workers}')
    return commands or ['python tools/data/reencode.py INPUT OUT_DIR '
                        '--codec mpeg4' + workers]


def motion_rows(reports: List[Dict], full_table: bool) -> List[str]:
    """Table rows: every video, or the readable ones without exact motion."""
    rows = [r for r in reports if full_table or (
        r.get('motion') is not None and r['motion'] != 'exact')]
    if not rows:
        return []
    width = max(len(r['path']) for r in rows)
    lines = [f'  {"video":<{width}}  ok   codec       frames  motion']
    for r in rows:
        lines.append(f'  {r["path"]:<{width}}  {"yes" if r["ok"] else "no ":3}'
                     f'  {r.get("codec", "?"):<10}  '
                     f'{r.get("num_frames", "?")!s:>6}  '
                     f'{r.get("motion") or "unknown (not readable)"}')
    return lines


def print_motion(reports: List[Dict], args: argparse.Namespace,
                 annotations: Dict[str, List],
                 full_table: bool = False,
                 limit: Optional[int] = 20) -> None:
    """Print the motion summary, the reasons and the fix."""
    judged = [r for r in reports if r.get('motion') is not None]
    kinds = Counter(r['motion'].split(':')[0] for r in judged)
    print(f'motion: {kinds["exact"]} exact, {kinds["approximate"]} '
          f'approximate, {kinds["none"]} none (of {len(judged)} readable '
          'videos)')
    reasons = Counter(part for r in judged if r['motion'] != 'exact'
                      for part in r['motion'].split(': ', 1)[1].split('; '))
    for reason, count in reasons.most_common():
        print(f'  {count:6d}  {reason}')
    rows = motion_rows(reports, full_table)
    if rows:
        shown = rows if full_table or limit is None else rows[:limit + 1]
        print('\n'.join(shown))
        if len(shown) < len(rows):
            print(f'  ... and {len(rows) - len(shown)} more (see --table '
                  'or --json)')
    if kinds['approximate'] or kinds['none']:
        print('Approximate: some vectors are divided by the wrong frame '
              'distance or are missing; none: no motion targets at all. '
              "Exact copies as the CMD reference trained on (MPEG-4 Part "
              '2, 340x256, one reference frame, no B-frames, GOP 12):')
        for command in fix_commands(args, annotations):
            print(f'  {command}')
        print('then point data_root at the copies (they are .avi files: '
              'rebuild lists of other extensions with --ext avi, '
              'docs/datasets.md).')


if __name__ == '__main__':
    sys.exit(main())
