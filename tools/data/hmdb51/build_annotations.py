"""HMDB51 split files -> VideoDataset annotation lists (0-based labels).

Reads <class>_test_split{1,2,3}.txt (1 = train, 2 = test, 0 = unused),
classes sorted alphabetically, and writes hmdb51_{train,val}_split_N_videos.txt
plus hmdb51_classes.txt. See tools/data/hmdb51/README.md.
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
                        help='the extracted testTrainMulti_7030_splits folder '
                        '(<class>_test_split<N>.txt)')
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


def present_splits(splits_dir: Path, classes: Sequence[str]) -> list[int]:
    """Splits N with a <class>_test_splitN.txt file for every class."""
    return [n for n in (1, 2, 3)
            if all((splits_dir / f'{c}_test_split{n}.txt').is_file()
                   for c in classes)]



def body(argv: Sequence[str] | None) -> int:
    """Build (or check) the lists; exit status."""
    args = parse_args(argv)
    classes = ann.find_hmdb51_classes(args.splits_dir)
    splits = [1, 2, 3] if args.split == 'all' else [int(args.split)]
    lists = {}
    for n in splits:
        try:
            train, test = ann.read_hmdb51_split(args.splits_dir, classes, n)
        except FileNotFoundError as err:
            found = present_splits(args.splits_dir, classes)
            if args.split != 'all' or not found:
                raise
            raise FileNotFoundError(split_hint(err, found)) from None
        lists[f'hmdb51_train_split_{n}_videos.txt'] = \
            ann.with_extension(train, args.ext)
        lists[f'hmdb51_val_split_{n}_videos.txt'] = \
            ann.with_extension(test, args.ext)
    return ann.emit(lists, classes, classes_name='hmdb51_classes.txt',
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
