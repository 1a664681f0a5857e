"""HMDB51 split files -> VideoDataset annotation lists (0-based labels).

Reads <class>_test_split{1,2,3}.txt (1 = train, 2 = test, 0 = unused),
classes sorted alphabetically, and writes hmdb51_{train,val}_split_N_videos.txt
plus hmdb51_classes.txt. See tools/data/hmdb51/README.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[3]


def _load_annotations():
    """mmcmd.datasets.annotations, loaded by file: no torch/mmaction needed."""
    path = ROOT / 'mmcmd' / 'datasets' / 'annotations.py'
    spec = importlib.util.spec_from_file_location('_mmcmd_annotations', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ann = _load_annotations()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--splits-dir', type=Path, required=True,
                        help='the extracted testTrainMulti_7030_splits folder '
                        '(<class>_test_split<N>.txt)')
    ann.add_common_arguments(parser, splits=['1', '2', '3'])
    return parser.parse_args(argv)


def body(argv: Sequence[str] | None) -> int:
    """Build (or check) the lists; exit status."""
    args = parse_args(argv)
    classes = ann.find_hmdb51_classes(args.splits_dir)
    splits = [1, 2, 3] if args.split == 'all' else [int(args.split)]
    lists = {}
    for n in splits:
        train, test = ann.read_hmdb51_split(args.splits_dir, classes, n)
        lists[f'hmdb51_train_split_{n}_videos.txt'] = \
            ann.with_extension(train, args.ext)
        lists[f'hmdb51_val_split_{n}_videos.txt'] = \
            ann.with_extension(test, args.ext)
    return ann.emit(lists, classes, classes_name='hmdb51_classes.txt',
                    root=args.root, out=args.out, case_insensitive=True,
                    skip_missing=args.skip_missing, check=args.check)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors in the inputs print a message and return 2."""
    return ann.run(body, argv)


if __name__ == '__main__':
    sys.exit(main())
