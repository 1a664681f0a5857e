"""Parts of tools/extract_embeddings.py: video dataset, resumable store.

Output files of a prefix ``OUT``:

- ``OUT.npy`` float32 (N, D) and ``OUT.index.txt`` (one video path per row);
- ``OUT.failed.txt``: ``path<TAB>reason`` of videos that could not be read;
- ``OUT.meta.json``: embedding dimension, config, checkpoint, settings;
- while running: ``OUT.partial.f32`` (raw float32 rows) and
  ``OUT.partial.txt`` (their paths), appended and flushed after every batch,
  so a killed run resumes where it stopped.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .preprocess import EmbeddingSettings, video_to_clips
from .search import read_index_file

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg',
                    '.mpeg', '.flv', '.3gp')


def find_videos(root: str, extensions: Sequence[str] = VIDEO_EXTENSIONS
                ) -> List[str]:
    """Video files under ``root`` (recursive, sorted), joined to ``root``."""
    found = []
    for folder, _, names in os.walk(root):
        found += [os.path.join(folder, n) for n in names
                  if n.lower().endswith(tuple(extensions))]
    return sorted(found)


def read_video_list(path: str, root: Optional[str] = None) -> List[str]:
    """Paths of a list file (one per line, blank lines and ``#`` skipped)."""
    with open(path, encoding='utf-8') as f:
        lines = [line.strip() for line in f]
    paths = [line for line in lines if line and not line.startswith('#')]
    return [os.path.join(root, p) for p in paths] if root else paths


class VideoClipsDataset(Dataset):
    """Item ``i``: dict(index, path, clips (num_clips, 3, T, S, S) or None,
    error (None or the reason the video could not be read))."""

    def __init__(self, paths: Sequence[str],
                 settings: EmbeddingSettings) -> None:
        self.paths = list(paths)
        self.settings = settings

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        path = self.paths[index]
        try:
            clips, error = video_to_clips(path, self.settings), None
        except Exception as exc:  # any bad file is reported, never fatal
            clips, error = None, f'{type(exc).__name__}: {exc}'
        return dict(index=index, path=path, clips=clips, error=error)


def collate_videos(items: List[dict]) -> List[dict]:
    """Keep the items as a list (failed ones have no tensor to stack)."""
    return items


def strip_prefix(out: str) -> str:
    """Output prefix without a trailing ``.npy``."""
    return out[:-len('.npy')] if out.endswith('.npy') else out


def load_final(prefix: str) -> Dict[str, np.ndarray]:
    """path -> vector of a finished ``prefix.npy`` + ``prefix.index.txt``."""
    npy, index = prefix + '.npy', prefix + '.index.txt'
    if not (os.path.isfile(npy) and os.path.isfile(index)):
        return {}
    vectors, paths = np.load(npy), read_index_file(index)
    if len(paths) != len(vectors):
        raise ValueError(f'{npy!r} has {len(vectors)} rows but {index!r} '
                         f'{len(paths)} paths; delete both to start afresh')
    return dict(zip(paths, vectors))


class ResultStore:
    """Embeddings done so far under ``prefix``: finished + partial files."""

    def __init__(self, prefix: str, meta: dict) -> None:
        self.prefix = prefix
        self.meta = dict(meta)
        self.done: Dict[str, np.ndarray] = {}
        self._check_meta()
        self.done.update(load_final(prefix))
        self.done.update(self._load_partial())
        self._rows = None
        self._paths = None

    @property
    def dim(self) -> Optional[int]:
        """Embedding dimension, once known."""
        return self.meta.get('dim')

    def _check_meta(self) -> None:
        path = self.prefix + '.meta.json'
        if not os.path.isfile(path):
            return
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
        for key in ('config', 'checkpoint', 'normalize', 'settings'):
            if key in self.meta and old.get(key) != self.meta[key]:
                raise ValueError(
                    f'{path!r} was written with {key}={old.get(key)!r}, this '
                    f'run uses {self.meta[key]!r}; use another --out or '
                    'delete the old outputs')
        if old.get('dim') is not None:
            self.meta['dim'] = old['dim']

    def _load_partial(self) -> Dict[str, np.ndarray]:
        """Consistent rows of the partial files (a torn tail is cut off)."""
        rows_path, paths_path = (self.prefix + '.partial.f32',
                                 self.prefix + '.partial.txt')
        if self.dim is None or not os.path.isfile(paths_path) or \
                not os.path.isfile(rows_path):
            return {}
        with open(paths_path, encoding='utf-8') as f:
            lines = f.read().split('\n')[:-1]  # a torn last line has no \n
        raw = np.fromfile(rows_path, dtype=np.float32)
        count = min(len(lines), raw.size // self.dim)
        vectors = raw[:count * self.dim].reshape(count, self.dim)
        return dict(zip(lines[:count], vectors))

    def _write_meta(self) -> None:
        with open(self.prefix + '.meta.json', 'w', encoding='utf-8') as f:
            json.dump(self.meta, f, indent=1)

    def _open_partial(self) -> None:
        """Rewrite the partial files with every row done, then append."""
        self._write_meta()
        paths = list(self.done)
        rows = (np.stack([self.done[p] for p in paths]).astype(np.float32)
                if paths else np.zeros((0, self.dim), np.float32))
        rows.tofile(self.prefix + '.partial.f32')
        with open(self.prefix + '.partial.txt', 'w', encoding='utf-8') as f:
            f.write(''.join(p + '\n' for p in paths))
        self._rows = open(self.prefix + '.partial.f32', 'ab')
        self._paths = open(self.prefix + '.partial.txt', 'a', encoding='utf-8')

    def add(self, paths: Sequence[str], vectors: np.ndarray) -> None:
        """Record embeddings (rows of ``vectors``) and flush them to disk."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.dim is None:
            self.meta['dim'] = int(vectors.shape[1])
        if self._rows is None:
            self._open_partial()
        for path, vector in zip(paths, vectors):
            self.done[path] = vector
        self._rows.write(vectors.tobytes())
        self._rows.flush()
        self._paths.write(''.join(p + '\n' for p in paths))
        self._paths.flush()

    def close(self) -> None:
        """Close the partial files (they stay on disk)."""
        for f in (self._rows, self._paths):
            if f is not None:
                f.close()
        self._rows = self._paths = None

    def finalize(self, order: Sequence[str],
                 failures: Sequence[Tuple[str, str]]) -> int:
        """Write ``prefix.npy`` / ``.index.txt`` / ``.failed.txt`` in input
        order, remove the partial files; return the number of rows."""
        self.close()
        return write_outputs(self.prefix, self.done, order, failures,
                             self.meta)


def write_outputs(prefix: str, done: Dict[str, np.ndarray],
                  order: Sequence[str], failures: Sequence[Tuple[str, str]],
                  meta: dict) -> int:
    """Final files of ``prefix`` for the videos of ``order`` that are done."""
    paths = [p for p in dict.fromkeys(order) if p in done]
    dim = meta.get('dim') or 0
    rows = (np.stack([done[p] for p in paths]).astype(np.float32)
            if paths else np.zeros((0, dim), np.float32))
    np.save(prefix + '.npy', rows)
    with open(prefix + '.index.txt', 'w', encoding='utf-8') as f:
        f.write(''.join(p + '\n' for p in paths))
    with open(prefix + '.failed.txt', 'w', encoding='utf-8') as f:
        f.write(''.join(f'{p}\t{" ".join(r.split())}\n' for p, r in failures))
    with open(prefix + '.meta.json', 'w', encoding='utf-8') as f:
        json.dump(dict(meta, count=len(paths)), f, indent=1)
    for suffix in ('.partial.f32', '.partial.txt'):
        if os.path.exists(prefix + suffix):
            os.remove(prefix + suffix)
    return len(paths)


def stack_clips(items: List[dict]) -> Tuple[List[str], Optional[torch.Tensor]]:
    """(paths, (B, num_clips, 3, T, S, S)) of the items that were read."""
    good = [it for it in items if it['clips'] is not None]
    if not good:
        return [], None
    clips = torch.stack([it['clips'] for it in good])
    return [it['path'] for it in good], clips
