"""Kinetics CSVs -> VideoDataset annotation lists (0-based labels).

Reads label,youtube_id,time_start,time_end,split CSVs (classes sorted
alphabetically), finds the clips <youtube_id>_<start:06d>_<end:06d>.mp4 in
flat or per-class folders, and writes <name>_{train,val,test}_list_videos.txt
plus <name>_classes.txt. See tools/data/kinetics/README.md.
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
DELIMITERS = {'space': ' ', 'tab': '\t'}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--csv', type=Path, nargs='+', required=True,
                        help='official CSVs (train.csv validate.csv test.csv); '
                        'the split column says which list a row goes to')
    ann.add_common_arguments(parser, splits=['train', 'val', 'test'])
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
    return ann.run(body, argv)


if __name__ == '__main__':
    sys.exit(main())
