"""Official split files of UCF101, HMDB51 and Kinetics -> VideoDataset lists.

An annotation list holds one ``relative/path.ext label`` line per video: the
path is relative to the video root (the dataset's ``data_prefix['video']``)
and the label is 0-based, as mmaction2's ``VideoDataset`` reads it. Plain
functions over paths; the command lines around them are
``tools/data/{ucf101,hmdb51,kinetics}/build_annotations.py``. Errors in the
inputs raise :class:`AnnotationFormatError`, ``OSError`` or ``ValueError``
with the file (and line) in the message.
"""
from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, MutableMapping, Optional, Sequence

#: how many missing paths the printed summary shows per list.
PREVIEW = 5


class AnnotationFormatError(ValueError):
    """An official split file is malformed; the message names file and line."""

    def __init__(self, path: str | os.PathLike, line_no: int, reason: str):
        where = f'{path}, line {line_no}' if line_no else str(path)
        super().__init__(f'{where}: {reason}')


@dataclass(frozen=True)
class VideoEntry:
    """One annotation line: path relative to the root, 0-based label or None."""

    path: str
    label: int | None


def _lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of the non-blank lines of a file."""
    if not path.is_file():
        raise FileNotFoundError(f'{path}: {what} not found')
    with open(path, encoding='utf-8-sig') as f:
        for line_no, line in enumerate(f, start=1):
            text = line.strip()
            if text:
                yield line_no, text


def with_extension(entries: Sequence[VideoEntry],
                   ext: str | None) -> list[VideoEntry]:
    """Entries with the file extension replaced by ``ext`` (None keeps it)."""
    if not ext:
        return list(entries)
    ext = ext.lstrip('.')
    if not re.fullmatch(r'[A-Za-z0-9]+', ext):
        raise ValueError(f'--ext must be letters/digits such as mp4, '
                         f'got {ext!r}')
    return [VideoEntry(f'{os.path.splitext(e.path)[0]}.{ext}', e.label)
            for e in entries]


# --------------------------------------------------------------- UCF101 ---
def read_ucf101_classes(path: Path) -> list[str]:
    """Class names of ``classInd.txt`` ("1 ApplyEyeMakeup") in label order."""
    by_index: dict[int, str] = {}
    for line_no, text in _lines(path, 'UCF101 class index (classInd.txt)'):
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise AnnotationFormatError(
                path, line_no,
                f'expected "<1-based index> <ClassName>", got {text!r}')
        index = int(parts[0])
        if index in by_index:
            raise AnnotationFormatError(path, line_no,
                                        f'index {index} appears twice')
        by_index[index] = parts[1]
    if not by_index:
        raise AnnotationFormatError(path, 0, 'no classes in the file')
    if sorted(by_index) != list(range(1, len(by_index) + 1)):
        raise AnnotationFormatError(
            path, 0, f'indices must run 1..{len(by_index)} without gaps, '
            f'got {sorted(by_index)}')
    names = [by_index[i] for i in range(1, len(by_index) + 1)]
    twice = [n for n, c in Counter(n.lower() for n in names).items() if c > 1]
    if twice:
        raise AnnotationFormatError(path, 0, f'class names repeat: {twice}')
    return names


def read_ucf101_list(path: Path, classes: Sequence[str]) -> list[VideoEntry]:
    """Entries of ``trainlist0N.txt`` / ``testlist0N.txt``, labels 0-based.

    The label comes from the class folder (matched to ``classes`` ignoring
    case); a 1-based label on the line, where present, must agree with it.
    """
    lookup = {name.lower(): i for i, name in enumerate(classes)}
    entries = []
    for line_no, text in _lines(path, 'UCF101 split list'):
        parts = text.split()
        rel = parts[0].replace('\\', '/')
        folder, _, name = rel.partition('/')
        if len(parts) > 2 or not name or '/' in name:
            raise AnnotationFormatError(
                path, line_no, 'expected "<ClassFolder>/<video>.avi" with an '
                f'optional 1-based label, got {text!r}')
        label = lookup.get(folder.lower())
        if label is None:
            raise AnnotationFormatError(
                path, line_no, f'class folder {folder!r} is not one of the '
                f'{len(classes)} classes of classInd.txt')
        if len(parts) == 2:
            given = parts[1]
            if not given.isdigit() or not 1 <= int(given) <= len(classes):
                raise AnnotationFormatError(
                    path, line_no,
                    f'label must be 1..{len(classes)}, got {given!r}')
            if int(given) - 1 != label:
                raise AnnotationFormatError(
                    path, line_no, f'label {given} ({classes[int(given) - 1]})'
                    f' disagrees with folder {folder!r} ({classes[label]})')
        entries.append(VideoEntry(rel, label))
    return entries


# --------------------------------------------------------------- HMDB51 ---
_HMDB_FILE = re.compile(r'(?P<cls>.+)_test_split(?P<split>\d+)\.txt')


def find_hmdb51_classes(splits_dir: Path) -> list[str]:
    """Class names, sorted, from the ``<class>_test_split<N>.txt`` names."""
    if not splits_dir.is_dir():
        raise FileNotFoundError(f'{splits_dir}: HMDB51 splits folder not found')
    names = {m['cls'] for p in splits_dir.iterdir()
             if (m := _HMDB_FILE.fullmatch(p.name))}
    if not names:
        raise FileNotFoundError(
            f'{splits_dir}: no <class>_test_split<N>.txt files; point '
            '--splits-dir at the extracted testTrainMulti_7030_splits folder')
    return sorted(names)


def read_hmdb51_split(splits_dir: Path, classes: Sequence[str],
                      split: int) -> tuple[list[VideoEntry], list[VideoEntry]]:
    """(train, test) entries of split N: 1 = train, 2 = test, 0 = unused."""
    train: list[VideoEntry] = []
    test: list[VideoEntry] = []
    for label, cls in enumerate(classes):
        path = splits_dir / f'{cls}_test_split{split}.txt'
        for line_no, text in _lines(path, f'HMDB51 split {split} file of '
                                    f'class {cls!r}'):
            parts = text.split()
            if (len(parts) != 2 or parts[1] not in ('0', '1', '2')
                    or '/' in parts[0]):
                raise AnnotationFormatError(
                    path, line_no, 'expected "<video>.avi <0|1|2>" (0 unused, '
                    f'1 train, 2 test), got {text!r}')
            if parts[1] != '0':
                side = train if parts[1] == '1' else test
                side.append(VideoEntry(f'{cls}/{parts[0]}', label))
    return train, test


# ------------------------------------------------------------- Kinetics ---
_SPLITS = {'train': 'train', 'training': 'train', 'val': 'val',
           'valid': 'val', 'validate': 'val', 'validation': 'val',
           'test': 'test', 'testing': 'test'}
#: folder names tried under the root for each split, in order.
SPLIT_DIRS = {'train': ('train', 'videos_train', 'train_256'),
              'val': ('val', 'validate', 'videos_val', 'val_256'),
              'test': ('test', 'videos_test', 'test_256')}


@dataclass(frozen=True)
class KineticsClip:
    """One CSV row: label (None if unlabelled), YouTube id, seconds, split."""

    label: str | None
    youtube_id: str
    start_s: int
    end_s: int
    split: str

    def file_name(self, ext: str = 'mp4') -> str:
        """``<youtube_id>_<start:06d>_<end:06d>.<ext>``."""
        return f'{self.youtube_id}_{self.start_s:06d}_{self.end_s:06d}.{ext}'


def _seconds(path: Path, line_no: int, column: str, value: str) -> int:
    """Whole seconds of a time cell ("14" or "14.0")."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = float('nan')
    if not seconds >= 0 or seconds != int(seconds):
        raise AnnotationFormatError(
            path, line_no, f'{column} must be whole seconds, got {value!r}')
    return int(seconds)


def read_kinetics_csv(path: Path) -> list[KineticsClip]:
    """Rows of a ``label,youtube_id,time_start,time_end,split`` CSV.

    ``label`` may be absent (test CSV) or empty; without a ``split`` column
    the split is taken from the file name (train / validate / test).
    """
    if not path.is_file():
        raise FileNotFoundError(f'{path}: Kinetics CSV not found')
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        need = {'youtube_id', 'time_start', 'time_end'} - set(header)
        if need:
            raise AnnotationFormatError(
                path, 1, f'header lacks {sorted(need)}; expected '
                f'label,youtube_id,time_start,time_end,split, got {header}')
        file_split = next((s for k, s in _SPLITS.items()
                           if k in path.stem.lower()), None)
        if 'split' not in header and file_split is None:
            raise AnnotationFormatError(
                path, 1, 'no split column and the file name names no split')
        clips = []
        for row in reader:
            line_no = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise AnnotationFormatError(
                    path, line_no, f'expected {len(header)} fields '
                    f'({",".join(header)}), got {len(row)}: {row}')
            cells = dict(zip(header, (c.strip() for c in row)))
            youtube_id = cells['youtube_id']
            if not youtube_id or re.search(r'[\s/\\]', youtube_id):
                raise AnnotationFormatError(
                    path, line_no, f'bad youtube_id {youtube_id!r}')
            start = _seconds(path, line_no, 'time_start', cells['time_start'])
            end = _seconds(path, line_no, 'time_end', cells['time_end'])
            if end <= start:
                raise AnnotationFormatError(
                    path, line_no, f'time_end {end} is not after {start}')
            given = cells.get('split', '')
            split = _SPLITS.get(given.lower()) if given else file_split
            if split is None:
                raise AnnotationFormatError(
                    path, line_no, f'unknown split {cells["split"]!r} '
                    '(expected train, val/validate or test)')
            clips.append(KineticsClip(cells.get('label') or None, youtube_id,
                                      start, end, split))
    return clips


def kinetics_classes(clips: Sequence[KineticsClip]) -> list[str]:
    """Labels of all labelled clips, sorted alphabetically (label order)."""
    return sorted({c.label for c in clips if c.label is not None})


def label_dir_names(label: str) -> list[str]:
    """Folder spellings of a class: spaces or '_', with or without ()'"."""
    under = label.replace(' ', '_')
    return [label, under, re.sub(r'[()\'"]', '', under),
            re.sub(r'[()\'"]', '', label), re.sub(r'[\'"]', '', label)]


def find_label_dirs(split_dir: Path, classes: Sequence[str]) -> dict[str, str]:
    """Class -> its folder name in ``split_dir``; empty for a flat layout.

    Classes without a folder get the spelling most other classes use.
    """
    present = {e.name for e in os.scandir(split_dir) if e.is_dir()}
    found: dict[str, str] = {}
    styles: Counter = Counter()
    for label in classes:
        for style, name in enumerate(label_dir_names(label)):
            if name in present:
                found[label] = name
                styles[style] += 1
                break
    if not found:
        return {}
    style = styles.most_common(1)[0][0]
    return {label: found.get(label, label_dir_names(label)[style])
            for label in classes}


def find_split_dir(root: Path, split: str, override: str | None) -> str:
    """Folder of a split relative to ``root`` (an override, or SPLIT_DIRS)."""
    names = [override] if override else list(SPLIT_DIRS[split])
    for name in names:
        if (root / name).is_dir():
            return Path(name).as_posix()
    raise FileNotFoundError(
        f'{root}: no folder for the {split} videos (looked for '
        f'{", ".join(names)}); pass --split-dir {split}=FOLDER')


def kinetics_entries(clips: Sequence[KineticsClip], classes: Sequence[str],
                     split_dir: str, label_dirs: dict[str, str],
                     ext: str) -> list[VideoEntry]:
    """Entries ``<split_dir>/[<class folder>/]<clip file>`` of the clips."""
    index = {name: i for i, name in enumerate(classes)}
    entries = []
    for clip in clips:
        parts = [] if split_dir == '.' else [split_dir]
        if clip.label is not None and label_dirs:
            parts.append(label_dirs[clip.label])
        parts.append(clip.file_name(ext))
        label = None if clip.label is None else index[clip.label]
        entries.append(VideoEntry('/'.join(parts), label))
    return entries


# ---------------------------------------------------- checking, writing ---
class VideoFileIndex:
    """The video files of a dataset under its root folder.

    Looks up the relative paths an annotation list names, optionally
    ignoring the case of folder and file names (not to be confused with
    :class:`mmcmd.codec.VideoIndex`, the frame index of one video).

    Args:
        root: the folder the annotation paths are relative to.
        case_insensitive: match names whose case differs on disk.
    """

    def __init__(self, root: Path, case_insensitive: bool = False):
        if not root.is_dir():
            raise FileNotFoundError(f'{root}: video root folder not found')
        self.root = root
        self.case_insensitive = case_insensitive
        self._listings: dict[str, dict[str, list[str]]] = {}

    def _listing(self, rel_dir: str) -> dict[str, list[str]]:
        """Lower-case name -> names on disk in one folder (cached)."""
        if rel_dir not in self._listings:
            names: dict[str, list[str]] = {}
            folder = self.root / rel_dir
            if folder.is_dir():
                for name in os.listdir(folder):
                    names.setdefault(name.lower(), []).append(name)
            self._listings[rel_dir] = names
        return self._listings[rel_dir]

    def resolve(self, rel: str) -> str | None:
        """On-disk spelling of a '/'-separated relative path, None if absent."""
        if (self.root / rel).is_file():
            return rel
        if not self.case_insensitive:
            return None
        current = ''
        for part in rel.split('/'):
            matches = self._listing(current).get(part.lower(), [])
            if len(matches) != 1:
                return None
            current = f'{current}/{matches[0]}' if current else matches[0]
        return current if (self.root / current).is_file() else None


@dataclass
class ListReport:
    """One list checked against the disk: entries (on-disk spelling), gaps."""

    name: str
    entries: list[VideoEntry]
    missing: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)


def check_videos(name: str, entries: Sequence[VideoEntry],
                 index: VideoFileIndex) -> ListReport:
    """Look every entry up on disk; note missing and case-corrected paths."""
    report = ListReport(name, [])
    for entry in entries:
        found = index.resolve(entry.path)
        if found is None:
            report.missing.append(entry.path)
        elif found != entry.path:
            report.renamed.append((entry.path, found))
            entry = VideoEntry(found, entry.label)
        report.entries.append(entry)
    return report


def write_list(path: Path, entries: Sequence[VideoEntry],
               delimiter: str = ' ') -> None:
    """Write ``path<delimiter>label`` lines (the path alone if unlabelled)."""
    lines = []
    for entry in entries:
        if delimiter in entry.path or '\n' in entry.path:
            shown = 'a tab' if delimiter == '\t' else repr(delimiter)
            raise ValueError(
                f'{entry.path!r} contains {shown}, the column delimiter of '
                f'{path.name}; rename the folders (e.g. spaces -> _) or pass '
                "--delimiter tab and set delimiter='\\t' in the dataset config")
        lines.append(entry.path if entry.label is None
                     else f'{entry.path}{delimiter}{entry.label}')
    path.write_text(''.join(f'{line}\n' for line in lines), encoding='utf-8')


def write_classes(path: Path, classes: Sequence[str]) -> None:
    """Write one class name per line, in label order."""
    path.write_text(''.join(f'{c}\n' for c in classes), encoding='utf-8')


def summarize(report: ListReport, *, out: Path | None, skip_missing: bool,
              check: bool) -> str:
    """Printable summary of one list: counts, first missing paths, actions."""
    listed, missing = len(report.entries), len(report.missing)
    head = f'{report.name}: {listed} listed, {listed - missing} found, ' \
           f'{missing} missing'
    if check:
        head += ' (check only, nothing written)'
    elif skip_missing:
        head += f' -> wrote {listed - missing} lines'
        if missing:
            head += ' (missing videos left out: --skip-missing)'
    else:
        head += f' -> wrote {listed} lines'
        if missing:
            head += (' (missing videos kept; pass --skip-missing to leave '
                     'them out)')
    lines = [head]
    if missing:
        shown = ', '.join(report.missing[:PREVIEW])
        more = f' ... ({missing - PREVIEW} more)' if missing > PREVIEW else ''
        lines.append(f'  missing: {shown}{more}')
        if not check and out is not None:
            lines.append(f'  all missing: {out / missing_name(report.name)}')
    if report.renamed:
        old, new = report.renamed[0]
        lines.append(f'  {len(report.renamed)} path(s) found only ignoring '
                     f'letter case, written as on disk, e.g. {old} -> {new}')
    return '\n'.join(lines)


def missing_name(list_name: str) -> str:
    """``missing_<list name>``, the file listing a list's missing videos."""
    return f'missing_{list_name}'


def emit(lists: dict[str, list[VideoEntry]], classes: Sequence[str], *,
         classes_name: str, root: Path, out: Path | None,
         case_insensitive: bool = False, skip_missing: bool = False,
         check: bool = False, delimiter: str = ' ') -> int:
    """Check lists against ``root``, write them to ``out``; exit status.

    Status 1 when ``check`` finds missing videos, else 0.
    """
    if out is None and not check:
        raise ValueError('--out is required unless --check is given')
    index = VideoFileIndex(root, case_insensitive)
    if not check:
        out.mkdir(parents=True, exist_ok=True)
        write_classes(out / classes_name, classes)
        print(f'{classes_name}: {len(classes)} classes')
    any_missing = False
    for name, entries in lists.items():
        report = check_videos(name, entries, index)
        any_missing |= bool(report.missing)
        if not check:
            missing = set(report.missing) if skip_missing else set()
            write_list(out / name, [e for e in report.entries
                                    if e.path not in missing], delimiter)
            missing_file = out / missing_name(name)
            if report.missing:
                missing_file.write_text(
                    ''.join(f'{p}\n' for p in report.missing), encoding='utf-8')
            elif missing_file.exists():
                missing_file.unlink()
        print(summarize(report, out=out, skip_missing=skip_missing,
                        check=check))
    return 1 if check and any_missing else 0


def point_dataset_at(dataset: MutableMapping, video_root: str,
                     ann_file: Optional[str] = None) -> None:
    """Make a ``VideoDataset`` config read its list from ``video_root``:
    the one way the tools point a config's dataset at generated or local
    videos.

    Sets ``data_prefix=dict(video=video_root)`` and ``ann_file``, the list
    whose paths are relative to that root.

    Args:
        dataset: the dataset config (a dict or mmengine ``ConfigDict``),
            changed in place.
        video_root: the folder the list's paths are relative to.
        ann_file: the list; None: the file of the same name as the
            config's current ``ann_file``, in ``video_root``.
    """
    if ann_file is None:
        ann_file = os.path.join(video_root,
                                os.path.basename(dataset['ann_file']))
    dataset['ann_file'] = ann_file
    dataset['data_prefix'] = dict(video=video_root)
