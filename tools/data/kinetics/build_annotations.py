"""Kinetics CSVs -> VideoDataset annotation lists (0-based labels).

Reads label,youtube_id,time_start,time_end,split CSVs (classes sorted
alphabetically), finds the clips <youtube_id>_<start:06d>_<end:06d>.mp4 in
flat or per-class folders, and writes <name>_{train,val,test}_list_videos.txt
plus <name>_classes.txt. See tools/data/kinetics/README.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from mmcmd.datasets import annotations as ann

DELIMITERS = {'space': ' ', 'tab': '\t'}


def add_common_arguments(parser: argparse.ArgumentParser,
                         splits: Sequence[str]) -> None:
    """Options of every build_annotations tool (root, out, split, checks)."""
    parser.add_argument('--root', type=Path, required=True,
                        help='folder holding the downloaded videos; the lists '
                        'hold paths relative to it (the data_prefix video)')
    parser.add_argument('--out', type=Path, help='folder for the annotation '
                        'lists and the classes file')
    parser.add_argument('--split', choices=[*splits, 'all'], default='all',
                        help='which split to build (default: all)')
    parser.add_argument('--ext', help='replace the video file extension, e.g. '
                        'mp4 after re-encoding (default: as listed)')
    parser.add_argument('--skip-missing', action='store_true',
                        help='leave videos not found under --root out of the '
                        'lists (default: keep them and report them)')
    parser.add_argument('--check', action='store_true',
                        help='only verify that the listed videos exist; write '
                        'nothing; exit 1 if any is missing')


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--csv', type=Path, nargs='+', required=True,
                        help='official CSVs (train.csv validate.csv test.csv); '
                        'the split column says which list a row goes to')
    add_common_arguments(parser, splits=['train', 'val', 'test'])
    parser.add_argument('--split-dir', action='append', default=[],
                        metavar='SPLIT=FOLDER',
                        help='folder of a split under --root, e.g. '
                        'train=videos_train (default: the first of '
                        + '; '.join(f'{k}: {", ".join(v)}'
                                    for k, v in ann.SPLIT_DIRS.items())
                        + ' that exists)')
    parser.add_argument('--name', default='kinetics400',
                        help='prefix of the output files '
                        '(default: kinetics400)')
    parser.add_argument('--delimiter', choices=sorted(DELIMITERS),
                        default='space', help='column delimiter of the lists '
                        "(tab needs delimiter='\\t' in the dataset config)")
    return parser.parse_args(argv)


def split_dir_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``train=videos_train`` pairs -> {split: folder}."""
    overrides = {}
    for pair in pairs:
        split, sep, folder = pair.partition('=')
        if not sep or split not in ann.SPLIT_DIRS or not folder:
            raise ValueError(f'--split-dir expects SPLIT=FOLDER with SPLIT one '
                             f'of {", ".join(ann.SPLIT_DIRS)}, got {pair!r}')
        overrides[split] = folder
    return overrides


def body(argv: Sequence[str] | None) -> int:
    """Build (or check) the lists; exit status."""
    args = parse_args(argv)
    overrides = split_dir_overrides(args.split_dir)
    clips = [clip for path in args.csv for clip in ann.read_kinetics_csv(path)]
    classes = ann.kinetics_classes(clips)
    present = [s for s in ann.SPLIT_DIRS if any(c.split == s for c in clips)]
    splits = present if args.split == 'all' else [args.split]
    if args.split != 'all' and args.split not in present:
        names = ', '.join(map(str, args.csv))
        raise ValueError(f'no {args.split} rows in {names}')
    ext = (args.ext or 'mp4').lstrip('.')
    lists = {}
    for split in splits:
        folder = ann.find_split_dir(args.root, split, overrides.get(split))
        label_dirs = ann.find_label_dirs(args.root / folder, classes)
        print(f'{split}: clips in {folder}/, '
              + ('one folder per class' if label_dirs else 'flat'))
        rows = [c for c in clips if c.split == split]
        lists[f'{args.name}_{split}_list_videos.txt'] = ann.kinetics_entries(
            rows, classes, folder, label_dirs, ext)
    return ann.emit(lists, classes, classes_name=f'{args.name}_classes.txt',
                    root=args.root, out=args.out,
                    skip_missing=args.skip_missing, check=args.check,
                    delimiter=DELIMITERS[args.delimiter])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors in the inputs print a message and return 2."""
    try:
        return body(argv)
    except (ann.AnnotationFormatError, OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
