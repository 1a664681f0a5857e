"""A folder of your own videos -> an annotation list for CMD pretraining.

Walks ROOT (sub-folders included, symbolic links followed) and writes one
``relative/path.ext 0`` line per video file, sorted, the paths relative to
ROOT: the ``ann_file`` of a training set whose ``data_prefix`` video root
is ROOT. Self-supervised pretraining ignores the labels; ``--labels folder``
gives each first-level sub-folder its own 0-based label (sorted names) and
writes the class names beside the list, for retrieval or finetuning.

Examples:
    python tools/data/build_video_list.py data/custom/videos \\
        --out data/custom/train_list.txt
    python tools/data/build_video_list.py data/custom/videos \\
        --out data/custom/train_list.txt --labels folder --ext mp4 mkv

Then check the videos (motion vectors present) and keep the good ones:
    python tools/analysis/check_videos.py data/custom/train_list.txt \\
        --data-prefix data/custom/videos --write-clean data/custom/clean.txt

Exit status: 0 when the list was written, 2 when ROOT holds no video or an
argument is wrong.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from mmcmd.datasets.annotations import VideoEntry, write_list
from mmcmd.utils.video_check import VIDEO_EXTENSIONS, find_videos


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', type=Path, help='folder holding the videos '
                        '(the data_prefix video root of the config)')
    parser.add_argument('--out', type=Path, required=True,
                        help='annotation list to write, e.g. '
                        'data/custom/train_list.txt')
    parser.add_argument('--ext', nargs='+', metavar='EXT',
                        help='file extensions to include (default: '
                        + ' '.join(e.lstrip('.') for e in VIDEO_EXTENSIONS)
                        + ')')
    parser.add_argument('--labels', choices=['none', 'folder'],
                        default='none', help='none: every line gets label '
                        '0 (default; pretraining ignores it); folder: the '
                        'first-level sub-folder is the class')
    return parser.parse_args(argv)


def label_entries(paths: Sequence[str], by_folder: bool
                  ) -> Tuple[List[VideoEntry], List[str]]:
    """Entries with label 0, or labelled by first-level folder (sorted
    names, 0-based); also the class names in label order."""
    if not by_folder:
        return [VideoEntry(p, 0) for p in paths], []
    loose = [p for p in paths if '/' not in p]
    if loose:
        raise ValueError(
            f'--labels folder needs every video inside a class folder; '
            f'{len(loose)} lie directly in the root, e.g. {loose[0]!r}: '
            'move them into a folder or use --labels none')
    classes = sorted({p.split('/', 1)[0] for p in paths})
    index = {name: i for i, name in enumerate(classes)}
    return [VideoEntry(p, index[p.split('/', 1)[0]]) for p in paths], classes


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the list; exit status (errors print one line, status 2)."""
    args = parse_args(argv)
    if not args.root.is_dir():
        print(f'error: {args.root}: video folder not found', file=sys.stderr)
        return 2
    extensions = (VIDEO_EXTENSIONS if not args.ext else
                  ['.' + e.lower().lstrip('.') for e in args.ext])
    paths = find_videos(args.root, extensions, relative=True)
    if not paths:
        print(f'error: {args.root}: no video files (extensions '
              f'{", ".join(extensions)}); pass --ext for others',
              file=sys.stderr)
        return 2
    try:
        entries, classes = label_entries(paths, args.labels == 'folder')
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_list(args.out, entries)
    except (ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    detail = ''
    if classes:
        names = args.out.with_name(args.out.stem + '_classes.txt')
        names.write_text(''.join(f'{c}\n' for c in classes), encoding='utf-8')
        detail = f', {len(classes)} classes ({names})'
    print(f'{args.out}: {len(entries)} videos{detail}; use it as ann_file '
          f'with data_prefix=dict(video={str(args.root)!r})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
