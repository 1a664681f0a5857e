"""Cosine top-k search over extracted video embeddings (faiss if installed)."""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import numpy as np


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero), float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def read_index_file(path: str) -> List[str]:
    """Video paths of an ``.index.txt`` file, one per line."""
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n') for line in f if line.strip()]


class EmbeddingGallery:
    """Embeddings (N, D) with their video paths, searchable by cosine.

    Uses ``faiss.IndexFlatIP`` on L2-normalised vectors when faiss is
    installed (and ``use_faiss`` allows), else exact numpy matrix products;
    both give the same ranking.
    """

    def __init__(self, embeddings: np.ndarray, paths: Sequence[str],
                 use_faiss: Optional[bool] = None) -> None:
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2 or embeddings.shape[0] != len(paths):
            raise ValueError(f'gallery needs (N, D) embeddings for N paths, '
                             f'got {embeddings.shape} for {len(paths)} paths')
        self.paths = list(paths)
        self.vectors = l2_normalize(embeddings)
        self._row = {p: i for i, p in enumerate(self.paths)}
        self._faiss_index = None
        if use_faiss is not False:
            try:
                import faiss
            except ImportError:
                if use_faiss:
                    raise ImportError('use_faiss=True but faiss is not '
                                      'installed (pip install faiss-cpu)')
            else:
                self._faiss_index = faiss.IndexFlatIP(self.vectors.shape[1])
                self._faiss_index.add(np.ascontiguousarray(self.vectors))

    @property
    def backend(self) -> str:
        """'faiss' or 'numpy'."""
        return 'numpy' if self._faiss_index is None else 'faiss'

    @classmethod
    def load(cls, prefix: str, use_faiss: Optional[bool] = None
             ) -> 'EmbeddingGallery':
        """Gallery from ``PREFIX.npy`` and ``PREFIX.index.txt`` (as written
        by tools/extract_embeddings.py)."""
        prefix = os.fspath(prefix)
        if prefix.endswith('.npy'):
            prefix = prefix[:-len('.npy')]
        npy, index = prefix + '.npy', prefix + '.index.txt'
        for path in (npy, index):
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f'{path!r} not found; create the gallery with '
                    'tools/extract_embeddings.py CONFIG CKPT --out PREFIX')
        return cls(np.load(npy), read_index_file(index), use_faiss)

    def __len__(self) -> int:
        return len(self.paths)

    def index_of(self, path: str) -> int:
        """Row of ``path`` in the gallery (KeyError naming it if absent)."""
        if path not in self._row:
            raise KeyError(f'{path!r} is not in the gallery (paths are as '
                           'written in the .index.txt file)')
        return self._row[path]

    def vector_of(self, path: str) -> np.ndarray:
        """Stored (normalised) embedding of a gallery video."""
        return self.vectors[self.index_of(path)]

    def search(self, query: np.ndarray, k: int = 10,
               exclude: Optional[str] = None) -> List[Tuple[str, float]]:
        """Top-``k`` (path, cosine similarity), best first; ``exclude`` drops
        one gallery path (e.g. the query itself)."""
        query = l2_normalize(np.asarray(query).reshape(1, -1))
        if query.shape[1] != self.vectors.shape[1]:
            raise ValueError(f'query has {query.shape[1]} dims, the gallery '
                             f'{self.vectors.shape[1]}')
        wanted = min(len(self), k + (exclude is not None))
        if wanted <= 0:
            return []
        if self._faiss_index is not None:
            scores, rows = self._faiss_index.search(query, wanted)
            scores, rows = scores[0], rows[0]
        else:
            all_scores = self.vectors @ query[0]
            # Stable sort on -score: ties keep gallery order.
            rows = np.argsort(-all_scores, kind='stable')[:wanted]
            scores = all_scores[rows]
        hits = [(self.paths[r], float(s)) for r, s in zip(rows, scores)
                if r >= 0 and self.paths[r] != exclude]
        return hits[:k]
