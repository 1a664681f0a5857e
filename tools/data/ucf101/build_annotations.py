"""UCF101 split lists -> VideoDataset annotation lists (0-based labels).

Reads classInd.txt, trainlist0N.txt and testlist0N.txt and writes
ucf101_{train,val}_split_N_videos.txt plus ucf101_classes.txt.
See tools/data/ucf101/README.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from mmcmd.datasets import annotations as ann


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
    parser.add_argument('--splits-dir', type=Path, required=True,
                        help='the extracted ucfTrainTestlist folder '
                        '(classInd.txt, trainlist0N.txt, testlist0N.txt)')
    add_common_arguments(parser, splits=['1', '2', '3'])
    return parser.parse_args(argv)


def split_hint(err: OSError, found: Sequence[int]) -> str:
    """The error of a missing split file plus the splits that are there."""
    names = ', '.join(map(str, found))
    which = (f'split {names} is' if len(found) == 1 else
             f'splits {names} are')
    again = '' if len(found) == 1 else ' (and so on, once per split)'
    return (f'{err}; --split all needs splits 1, 2 and 3, only {which} '
            f'present: pass --split {found[0]}{again}')


def present_splits(splits_dir: Path) -> list[int]:
    """Splits N whose trainlist0N.txt and testlist0N.txt both exist."""
    return [n for n in (1, 2, 3)
            if (splits_dir / f'trainlist0{n}.txt').is_file()
            and (splits_dir / f'testlist0{n}.txt').is_file()]


def body(argv: Sequence[str] | None) -> int:
    """Build (or check) the lists; exit status."""
    args = parse_args(argv)
    classes = ann.read_ucf101_classes(args.splits_dir / 'classInd.txt')
    splits = [1, 2, 3] if args.split == 'all' else [int(args.split)]
    lists = {}
    try:
        for n in splits:
            for side, official in (('train', 'trainlist'),
                                   ('val', 'testlist')):
                entries = ann.read_ucf101_list(
                    args.splits_dir / f'{official}0{n}.txt', classes)
                lists[f'ucf101_{side}_split_{n}_videos.txt'] = \
                    ann.with_extension(entries, args.ext)
    except FileNotFoundError as err:
        found = present_splits(args.splits_dir)
        if args.split != 'all' or not found:
            raise
        raise FileNotFoundError(split_hint(err, found)) from None
    return ann.emit(lists, classes, classes_name='ucf101_classes.txt',
                    root=args.root, out=args.out, case_insensitive=True,
                    skip_missing=args.skip_missing, check=args.check)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors in the inputs print a message and return 2."""
    try:
        return body(argv)
    except (ann.AnnotationFormatError, OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
