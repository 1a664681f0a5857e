"""UCF101 split lists -> VideoDataset annotation lists (0-based labels).

Reads classInd.txt, trainlist0N.txt and testlist0N.txt and writes
ucf101_{train,val}_split_N_videos.txt plus ucf101_classes.txt.
See tools/data/ucf101/README.md.
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
                        help='the extracted ucfTrainTestlist folder '
                        '(classInd.txt, trainlist0N.txt, testlist0N.txt)')
    ann.add_common_arguments(parser, splits=['1', '2', '3'])
    return parser.parse_args(argv)


def body(argv: Sequence[str] | None) -> int:
    """Build (or check) the lists; exit status."""
    args = parse_args(argv)
    classes = ann.read_ucf101_classes(args.splits_dir / 'classInd.txt')
    splits = [1, 2, 3] if args.split == 'all' else [int(args.split)]
    lists = {}
    for n in splits:
        for side, official in (('train', 'trainlist'), ('val', 'testlist')):
            entries = ann.read_ucf101_list(
                args.splits_dir / f'{official}0{n}.txt', classes)
            lists[f'ucf101_{side}_split_{n}_videos.txt'] = \
                ann.with_extension(entries, args.ext)
    return ann.emit(lists, classes, classes_name='ucf101_classes.txt',
                    root=args.root, out=args.out, case_insensitive=True,
                    skip_missing=args.skip_missing, check=args.check)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors in the inputs print a message and return 2."""
    return ann.run(body, argv)


if __name__ == '__main__':
    sys.exit(main())
