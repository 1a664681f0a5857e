"""Cosine top-k search over extracted video embeddings.

Backends: faiss when installed (``pip install faiss-cpu``), else numpy.

- ``index='flat'`` (default): exact search, ``faiss.IndexFlatIP`` on the
  L2-normalised vectors or numpy matrix products; both return the same
  neighbours, equal scores in gallery order.
- ``index='ivf'``: ``faiss.IndexIVFFlat`` (inner product) for large
  collections: ``nlist`` k-means cells, ``nprobe`` of them searched per
  query. Approximate; :meth:`EmbeddingGallery.ivf_recall` measures its
  recall@k against exact search. :meth:`EmbeddingGallery.load` saves the
  trained index next to the embeddings (``PREFIX.ivf<nlist>.faiss`` and a
  ``.json`` holding the embeddings' fingerprint and the measured recalls) and
  reloads it while ``PREFIX.npy`` is unchanged.

The exact index is not saved: it is a copy of the vectors, so building it
from ``PREFIX.npy`` costs what reading a saved copy would.
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

INDEX_KINDS = ('flat', 'ivf')

#: Query x gallery scores held at once by the numpy backend.
CHUNK_ENTRIES = 1 << 24


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero), float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def read_index_file(path: str) -> List[str]:
    """Video paths of an ``.index.txt`` file, one per line."""
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n') for line in f if line.strip()]


def query_matrix(query: np.ndarray, dim: int) -> np.ndarray:
    """A (D,) vector or (N, D) matrix of queries as unit (N, D) float32.

    Args:
        query: one embedding (D,) or several (N, D).
        dim: the gallery's dimension D.
    """
    query = np.asarray(query)
    if query.ndim == 1:
        query = query[None]
    if query.ndim != 2:
        raise ValueError(f'a query must be one embedding (D,) or several '
                         f'(N, D), got shape {query.shape}')
    if query.shape[0] == 0:
        raise ValueError(f'no query vector (shape {query.shape})')
    if query.shape[1] != dim:
        raise ValueError(f'query has {query.shape[1]} dims, the gallery '
                         f'{dim} (query shape {query.shape})')
    if not np.isfinite(query).all():
        raise ValueError('the query holds NaN or inf')
    return l2_normalize(query)


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int
               ) -> Tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products, best first, equal scores by row.

    Args:
        vectors: (G, D) gallery rows.
        queries: (N, D) query rows.
        k: neighbours per query (at most G are returned).

    Returns:
        scores (N, min(k, G)) float32 and rows (N, min(k, G)) int64.
    """
    k = min(k, len(vectors))
    scores = np.empty((len(queries), k), dtype=np.float32)
    rows = np.empty((len(queries), k), dtype=np.int64)
    step = max(1, CHUNK_ENTRIES // max(len(vectors), 1))
    for start in range(0, len(queries), step):
        block = queries[start:start + step] @ vectors.T
        # k-th best score per query; every row scoring at least that is a
        # candidate, ordered by (-score, row).
        kth = np.partition(block, len(vectors) - k, axis=1)[:, -k]
        for i, (line, cut) in enumerate(zip(block, kth)):
            cand = np.flatnonzero(line >= cut)
            best = cand[np.lexsort((cand, -line[cand]))][:k]
            rows[start + i], scores[start + i] = best, line[best]
    return scores, rows


def default_nlist(count: int) -> int:
    """IVF cells for ``count`` vectors: about 4 sqrt(N), each cell with at
    least 39 training vectors (faiss's minimum)."""
    return int(max(1, min(round(4 * np.sqrt(count)), count // 39)))


def _import_faiss(why: str):
    try:
        import faiss
    except ImportError:
        raise ImportError(f'{why} needs faiss: pip install faiss-cpu '
                          '(or pip install "mmcmd[search]")') from None
    return faiss


class EmbeddingGallery:
    """Embeddings (N, D) with their video paths, searchable by cosine.

    Args:
        embeddings: (N, D) vectors, any scale (rows are L2-normalised).
        paths: the N video paths, in row order.
        use_faiss: ``None`` uses faiss when installed, ``True`` requires it,
            ``False`` uses numpy (exact search only).
        index: ``'flat'`` (exact) or ``'ivf'`` (approximate, faiss only).
        nlist: IVF cells; default :func:`default_nlist`.
        nprobe: IVF cells searched per query; default ``max(8, nlist // 16)``
            capped at ``nlist``.
        trained_index: an IVF index already trained on these embeddings
            (what :meth:`load` reads back); default: train one.
    """

    def __init__(self, embeddings: np.ndarray, paths: Sequence[str],
                 use_faiss: Optional[bool] = None, index: str = 'flat',
                 nlist: Optional[int] = None,
                 nprobe: Optional[int] = None,
                 trained_index=None) -> None:
        embeddings = np.asarray(embeddings)
        if embeddings.size == 0:
            raise ValueError('the gallery is empty (0 embeddings); embed '
                             'videos with tools/extract_embeddings.py first')
        if embeddings.ndim != 2 or embeddings.shape[0] != len(paths):
            raise ValueError(f'a gallery needs (N, D) embeddings for N '
                             f'paths, got shape {embeddings.shape} for '
                             f'{len(paths)} paths')
        if index not in INDEX_KINDS:
            raise ValueError(f'index must be one of {INDEX_KINDS}, got '
                             f'{index!r}')
        if not np.isfinite(embeddings).all():
            bad = np.flatnonzero(~np.isfinite(embeddings).all(axis=1))
            raise ValueError(f'gallery rows {bad[:5].tolist()} hold NaN or '
                             'inf; re-extract those videos')
        self.paths = list(paths)
        self.vectors = l2_normalize(embeddings)
        self.kind = index
        self._row = {p: i for i, p in enumerate(self.paths)}
        self._faiss = None
        self._index = None
        self.nlist = self.nprobe = None
        self.recalls: Dict[str, float] = {}
        self.index_file: Optional[str] = None  # where the IVF index is saved
        self.index_loaded = False  # True when read back from index_file
        self._meta_file: Optional[str] = None
        self._fingerprint: dict = {}
        if index == 'ivf':
            if use_faiss is False:
                raise ValueError("index='ivf' needs faiss; use_faiss=False "
                                 'allows only exact search')
            self.nlist = int(nlist or default_nlist(len(self)))
            if not 1 <= self.nlist <= len(self):
                raise ValueError(f'nlist={self.nlist} must be between 1 and '
                                 f'the gallery size ({len(self)}); use a '
                                 "smaller nlist or index='flat'")
            self.nprobe = int(nprobe or min(self.nlist,
                                            max(8, self.nlist // 16)))
            if self.nprobe < 1:
                raise ValueError(f'nprobe must be >= 1, got {nprobe}')
        if use_faiss is not False:
            try:
                self._faiss = _import_faiss('use_faiss=True' if index ==
                                            'flat' else "index='ivf'")
            except ImportError:
                if use_faiss or index == 'ivf':
                    raise
        if index == 'ivf':
            if trained_index is None:
                self.train_ivf()
            else:
                self._set_ivf(trained_index)
        elif self._faiss is not None:
            self._index = self._faiss.IndexFlatIP(self.dim)
            self._index.add(self.vectors)

    # ------------------------------------------------------------ build
    def train_ivf(self) -> None:
        """Train the IVF cells on the gallery and add every vector."""
        faiss = self._faiss
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, self.nlist,
                                   faiss.METRIC_INNER_PRODUCT)
        index.train(self.vectors)
        index.add(self.vectors)
        self._set_ivf(index)

    def _set_ivf(self, index) -> None:
        if index.ntotal != len(self) or index.d != self.dim:
            raise ValueError(f'IVF index holds {index.ntotal} vectors of '
                             f'{index.d} dims, the gallery {len(self)} of '
                             f'{self.dim}')
        self._ivf_quantizer = index.quantizer  # keep it alive with the index
        index.nprobe = self.nprobe
        self._index = index

    @classmethod
    def load(cls, prefix: str, use_faiss: Optional[bool] = None,
             index: str = 'flat', nlist: Optional[int] = None,
             nprobe: Optional[int] = None,
             rebuild: bool = False) -> 'EmbeddingGallery':
        """Gallery from ``PREFIX.npy`` and ``PREFIX.index.txt`` (as written
        by tools/extract_embeddings.py).

        With ``index='ivf'`` the trained index is read from
        ``PREFIX.ivf<nlist>.faiss`` when it was built from the current
        ``PREFIX.npy`` (and ``rebuild`` is False), else trained and saved
        there. Other arguments: see the class.
        """
        prefix = os.fspath(prefix)
        if prefix.endswith('.npy'):
            prefix = prefix[:-len('.npy')]
        npy, index_txt = prefix + '.npy', prefix + '.index.txt'
        for path in (npy, index_txt):
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f'{path!r} not found; create the gallery with '
                    'tools/extract_embeddings.py CONFIG CKPT --out PREFIX')
        vectors, paths = np.load(npy), read_index_file(index_txt)
        if vectors.size == 0:
            raise ValueError(f'the gallery is empty: {npy!r} holds no '
                             'embeddings; rerun tools/extract_embeddings.py '
                             '(see its .failed.txt for unreadable videos)')
        if vectors.ndim != 2 or len(vectors) != len(paths):
            raise ValueError(f'{npy!r} holds embeddings of shape '
                             f'{vectors.shape} but {index_txt!r} '
                             f'{len(paths)} paths; they must be (N, D) and N')
        if index != 'ivf':
            return cls(vectors, paths, use_faiss, index, nlist, nprobe)
        if use_faiss is False:
            raise ValueError("index='ivf' needs faiss; use_faiss=False "
                             'allows only exact search')
        faiss = _import_faiss("index='ivf'")
        nlist = int(nlist or default_nlist(len(vectors)))
        stem = f'{prefix}.ivf{nlist}'
        stat = os.stat(npy)
        fingerprint = dict(npy_size=stat.st_size,
                           npy_mtime_ns=stat.st_mtime_ns,
                           count=len(vectors), dim=int(vectors.shape[1]),
                           nlist=nlist)
        meta = {}
        if os.path.isfile(stem + '.json') and os.path.isfile(stem + '.faiss'):
            with open(stem + '.json', encoding='utf-8') as f:
                meta = json.load(f)
        trained = None
        if not rebuild and meta.get('fingerprint') == fingerprint:
            trained = faiss.read_index(stem + '.faiss')
        gallery = cls(vectors, paths, use_faiss, index, nlist, nprobe,
                      trained_index=trained)
        gallery.index_file, gallery.index_loaded = stem + '.faiss', \
            trained is not None
        gallery._meta_file, gallery._fingerprint = stem + '.json', fingerprint
        if trained is not None:
            gallery.recalls = dict(meta.get('recalls', {}))
            return gallery
        try:
            faiss.write_index(gallery._index, stem + '.faiss.tmp')
            os.replace(stem + '.faiss.tmp', stem + '.faiss')
            gallery._write_meta()
        except (OSError, RuntimeError) as error:
            warnings.warn(f'could not save the IVF index to '
                          f'{stem}.faiss ({error}); it is trained again next '
                          'time')
            gallery._meta_file = None
        return gallery

    def _write_meta(self) -> None:
        if self._meta_file is None:
            return
        with open(self._meta_file + '.tmp', 'w', encoding='utf-8') as f:
            json.dump(dict(fingerprint=self._fingerprint,
                           recalls=self.recalls), f, indent=1)
        os.replace(self._meta_file + '.tmp', self._meta_file)

    # ------------------------------------------------------------- info
    @property
    def backend(self) -> str:
        """'faiss' or 'numpy'."""
        return 'numpy' if self._index is None else 'faiss'

    @property
    def dim(self) -> int:
        """Embedding dimension D."""
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.paths)

    def describe(self) -> str:
        """One line: size, similarity, backend and index settings."""
        text = f'{len(self)} videos, cosine similarity ({self.backend}'
        if self.kind == 'ivf':
            text += f' IVF nlist={self.nlist} nprobe={self.nprobe}'
        return text + ')'

    def index_of(self, path: str) -> int:
        """Row of ``path`` in the gallery (KeyError naming it if absent)."""
        if path not in self._row:
            raise KeyError(f'{path!r} is not in the gallery (paths are as '
                           'written in the .index.txt file)')
        return self._row[path]

    def vector_of(self, path: str) -> np.ndarray:
        """Stored (normalised) embedding of a gallery video."""
        return self.vectors[self.index_of(path)]

    # ----------------------------------------------------------- search
    def topk(self, queries: np.ndarray, k: int
             ) -> Tuple[np.ndarray, np.ndarray]:
        """Scores and rows of the ``k`` best gallery videos per query.

        Args:
            queries: (D,) or (N, D) embeddings, any scale.
            k: neighbours per query.

        Returns:
            scores (N, k') float32 and rows (N, k') int64, best first, with
            ``k' = min(k, len(self))``; IVF search marks missing neighbours
            (too few in the probed cells) with row -1.
        """
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        queries = query_matrix(queries, self.dim)
        if self._index is None:
            return exact_topk(self.vectors, queries, k)
        k = min(k, len(self))
        if self.kind == 'ivf':
            scores, rows = self._index.search(queries, k)
        else:
            scores, rows = self._flat_topk(queries, k)
        # Order as numpy does: by (-score, row), misses (-1) last.
        order = np.lexsort((np.where(rows < 0, len(self), rows),
                            -np.where(rows < 0, -np.inf, scores)), axis=1)
        return (np.take_along_axis(scores, order, 1),
                np.take_along_axis(rows, order, 1).astype(np.int64))

    def _flat_topk(self, queries: np.ndarray, k: int
                   ) -> Tuple[np.ndarray, np.ndarray]:
        """faiss exact search with numpy's tie rule: faiss picks an
        arbitrary subset of the rows tied at the k-th score, so a query
        whose (k+1)-th score equals its k-th is searched again by numpy."""
        extra = int(k < len(self))
        scores, rows = self._index.search(queries, k + extra)
        if extra:
            tied = np.flatnonzero(scores[:, k] == scores[:, k - 1])
            scores, rows = scores[:, :k], rows[:, :k].astype(np.int64)
            if tied.size:
                scores[tied], rows[tied] = exact_topk(self.vectors,
                                                      queries[tied], k)
        return scores, rows

    def search_batch(self, queries: np.ndarray, k: int = 10
                     ) -> List[List[Tuple[str, float]]]:
        """Top-``k`` (path, cosine) of each query row, best first."""
        scores, rows = self.topk(queries, k)
        return [[(self.paths[r], float(s)) for r, s in zip(rr, ss) if r >= 0]
                for rr, ss in zip(rows, scores)]

    def search(self, query: np.ndarray, k: int = 10,
               exclude: Optional[str] = None) -> List[Tuple[str, float]]:
        """Top-``k`` (path, cosine similarity) of ONE query, best first;
        ``exclude`` drops one gallery path (e.g. the query itself)."""
        query = np.asarray(query)
        if query.ndim == 2 and query.shape[0] != 1:
            raise ValueError(f'search takes one query vector, got '
                             f'{query.shape[0]} (shape {query.shape}); use '
                             'search_batch for several')
        hits = self.search_batch(query, k + (exclude is not None))[0]
        return [h for h in hits if h[0] != exclude][:k]

    def ivf_recall(self, k: int = 10, samples: int = 1000,
                   seed: int = 0) -> float:
        """Recall@k of the IVF index against exact search.

        Up to ``samples`` gallery vectors are the queries, each left out of
        its own results: the share of the exact k nearest that IVF search
        also returns. Cached per (nprobe, k) and saved with the index.
        """
        if self.kind != 'ivf':
            raise ValueError('ivf_recall needs index="ivf"')
        key = f'nprobe={self.nprobe},k={k},samples={samples},seed={seed}'
        want = min(k, len(self) - 1)
        if want < 1:
            return 1.0
        if key not in self.recalls:
            count = min(samples, len(self))
            rows = np.sort(np.random.default_rng(seed).choice(
                len(self), count, replace=False))
            queries = self.vectors[rows]
            _, exact = exact_topk(self.vectors, queries, want + 1)
            _, approx = self._index.search(queries, want + 1)
            found = 0
            for row, truth, got in zip(rows, exact, approx):
                truth = [r for r in truth if r != row][:want]
                got = [r for r in got if r != row and r >= 0][:want]
                found += len(set(truth) & set(got))
            self.recalls[key] = found / (want * count)
            self._write_meta()
        return self.recalls[key]
