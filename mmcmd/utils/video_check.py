"""Health checks of video files for CMD (tools/analysis/check_videos.py)."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import PurePath
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg',
                    '.mpeg', '.flv', '.3gp', '.ts')


def find_videos(root: str | os.PathLike,
                extensions: Sequence[str] = VIDEO_EXTENSIONS,
                relative: bool = False) -> List[str]:
    """The video files under ``root``, sorted: the one folder scan of the
    project (the check, embedding and list-building tools).

    Recursive, following folder links; hidden files and folders (names
    starting with ``.``, e.g. macOS ``._*`` resource forks) are skipped.

    Args:
        root: the folder to scan.
        extensions: file name endings to keep (case-insensitive).
        relative: give '/'-separated paths relative to ``root`` instead of
            paths joined to ``root``.
    """
    suffixes = tuple(e.lower() for e in extensions)
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in files:
            if name.startswith('.') or not name.lower().endswith(suffixes):
                continue
            path = os.path.join(folder, name)
            found.append(PurePath(os.path.relpath(path, root)).as_posix()
                         if relative else path)
    return sorted(found)


def check_video(path: str, require_motion: bool = True, min_frames: int = 1,
                full_decode: bool = False,
                decode_budget_s: float = 60.0) -> Dict:
    """Open, index and decode a video; report facts and whether it is usable.

    Returns a dict with ``path``, ``ok``, ``reason`` (empty when ok) and,
    as far as they could be read, ``codec``, ``width``, ``height``, ``fps``,
    ``num_frames``, ``num_keyframes``, ``gop_mean``, ``gop_max``,
    ``pict_types`` (counts of I/P/B), ``motion_vectors`` and ``motion``:
    the verdict of :func:`mmcmd.codec.motion_verdict` as text (``exact``,
    ``approximate: <reason>`` or ``none: <reason>``; None when the file
    could not be indexed).
    ``require_motion`` makes a video without motion vectors (HEVC/VP9/AV1,
    all-intra) not ok; ``full_decode`` decodes every frame instead of the
    first and last GOP.
    """
    from mmcmd.codec import CodecError, CompressedVideo, motion_verdict
    report: Dict = dict(path=path, ok=False, reason='', motion=None)
    try:
        with CompressedVideo(path, decode_budget_s=decode_budget_s) as video:
            report.update(codec=video.codec_name, width=video.width,
                          height=video.height, fps=round(video.fps, 3))
            index = video.index
            keyframes = index.keyframes
            gops = np.diff(np.append(keyframes, index.num_frames))
            report.update(
                num_frames=index.num_frames,
                num_keyframes=int(len(keyframes)),
                gop_mean=round(float(gops.mean()), 2) if len(gops) else 0.0,
                gop_max=int(gops.max()) if len(gops) else 0,
                pict_types=dict(Counter(index.pict_types.tolist())))
            has_motion = video.has_motion_vectors and not index.all_intra
            report['motion_vectors'] = bool(has_motion)
            report['motion'] = str(motion_verdict(video))
            if index.num_frames < min_frames:
                count = index.num_frames
                report['reason'] = (f'{count} frame{"s" * (count != 1)}, '
                                    f'fewer than the {min_frames} required')
                return report
            last = index.num_frames - 1
            frames = (range(index.num_frames) if full_decode else
                      sorted({0, last, int(keyframes[-1])}))
            moving = [i for i in frames if index.pict_types[i] != 'I']
            video.decode(rgb=list(frames),
                         motion=moving[:1] if has_motion else ())
            if require_motion and not has_motion:
                report['reason'] = (
                    f'no motion vectors ({video.codec_name}'
                    f'{", all-intra" if index.all_intra else ""}); '
                    're-encode with tools/data/reencode.py')
                return report
    except CodecError as error:
        report['reason'] = f'{type(error).__name__}: {error.reason}'
        return report
    except Exception as error:  # anything else a damaged file can raise
        report['reason'] = f'{type(error).__name__}: {error}'
        return report
    report['ok'] = True
    return report


def expand_inputs(inputs: Iterable[str], data_prefix: Optional[str] = None
                  ) -> Tuple[List[str], Dict[str, List[Tuple[str, str]]]]:
    """Video paths from files, folders, annotation files and path lists.

    A ``.txt``/``.list``/``.csv`` input is read line by line, the first
    field being a video path (relative paths resolve against
    ``data_prefix``, else the list's folder). Returns the paths in input
    order without repeats, and per annotation file its ``(path, line)``
    pairs (for writing a clean copy).
    """
    paths: List[str] = []
    annotations: Dict[str, List[Tuple[str, str]]] = {}
    for item in inputs:
        if os.path.isdir(item):
            paths.extend(find_videos(item))
        elif item.lower().endswith(('.txt', '.list', '.csv')):
            base = data_prefix or os.path.dirname(os.path.abspath(item))
            rows = annotations.setdefault(item, [])
            with open(item) as f:
                for line in f:
                    if not line.strip():
                        continue
                    rel = line.split()[0].split(',')[0]
                    path = rel if os.path.isabs(rel) else os.path.join(base,
                                                                       rel)
                    rows.append((path, line.rstrip('\n')))
                    paths.append(path)
        else:
            paths.append(item)
    return list(dict.fromkeys(paths)), annotations
