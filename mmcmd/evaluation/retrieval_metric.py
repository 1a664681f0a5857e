"""Nearest-neighbour video retrieval: R@k of test queries in a train gallery.

Definition (what :func:`recall_at_k` computes, exactly): similarity is the
cosine of two embeddings, i.e. the dot product of the L2-normalised rows,
computed in ``precision`` (float32 by default). Sort each query's gallery by
decreasing similarity, equal similarities in gallery order (a stable sort);
the query's *first-hit rank* is the 0-based position of the first gallery
video of its class in that order. A query scores at ``k`` when its first-hit
rank is below ``k``; R@k is the share of such queries.

No sort is needed for that: with ``s`` the best similarity of a same-class
gallery video and ``j`` the first gallery index reaching it, the first-hit
rank is the number of gallery videos more similar than ``s`` plus the number
of (other-class) videos exactly as similar as ``s`` that come before ``j``.
Each similarity is computed once: a query's own class first (giving ``s``
and ``j``), then the other classes in blocks of queries x gallery columns,
so memory stays bounded (``chunk_size``) whatever the gallery size. R@k
needs ranks only up to the largest k: a query whose count reaches it is
dropped from the remaining blocks.
"""
from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric

#: First-hit rank of a query whose class has no gallery video.
NO_HIT = np.iinfo(np.int64).max

#: Default block size: query x gallery similarities held at once.
CHUNK_ENTRIES = 1 << 26

#: Default queries per block.
CHUNK_QUERIES = 2048

#: Similarities compared per step (fits a core's cache).
PASS_ENTRIES = 1 << 18

PRECISIONS = {'float32': np.float32, 'float64': np.float64}


def _unit_rows(vectors: np.ndarray, order: np.ndarray, mean_center: bool,
               dtype: type, name: str) -> np.ndarray:
    """Rows ``vectors[order]`` as ``dtype``, centred if asked, unit L2 norm.

    One output array is allocated and filled in slices of rows, so no
    temporary of the input's size is made; all-zero rows stay zero.
    """
    out = np.empty(vectors.shape, dtype=dtype)
    step = max(1, CHUNK_ENTRIES // (8 * max(vectors.shape[1], 1)))
    total = np.zeros(vectors.shape[1], dtype=np.float64)
    for start in range(0, len(out), step):
        part = out[start:start + step]
        part[...] = vectors[order[start:start + step]]
        finite = np.isfinite(part).all(axis=1)
        if not finite.all():
            raise ValueError(
                f'recall_at_k: {name} embedding(s) at row(s) '
                f'{sorted(order[start:start + step][~finite][:5].tolist())} '
                'hold NaN or inf; check the model and its checkpoint')
        total += part.sum(axis=0, dtype=np.float64)
    mean = (total / len(out)).astype(dtype)
    for start in range(0, len(out), step):
        part = out[start:start + step]
        if mean_center:
            part -= mean
        norms = np.sqrt(np.einsum('ij,ij->i', part, part, dtype=np.float64))
        part /= np.maximum(norms, 1e-12).astype(dtype)[:, None]
    return out


def _check_inputs(query: np.ndarray, query_labels: np.ndarray,
                  gallery: np.ndarray, gallery_labels: np.ndarray) -> None:
    """Shapes that can be ranked, with messages that give the numbers."""
    for name, vectors, labels in (('query', query, query_labels),
                                  ('gallery', gallery, gallery_labels)):
        if vectors.ndim != 2:
            raise ValueError(f'recall_at_k: {name} embeddings must be (N, D), '
                             f'got shape {vectors.shape}')
        if len(vectors) == 0:
            raise ValueError(f'recall_at_k: the {name} set is empty')
        if labels.shape != (len(vectors), ):
            raise ValueError(f'recall_at_k: {len(vectors)} {name} embeddings '
                             f'but {name} labels of shape {labels.shape}')
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f'recall_at_k: query embeddings have '
                         f'{query.shape[1]} dims, gallery embeddings '
                         f'{gallery.shape[1]}')


def first_hit_ranks(query: np.ndarray, query_labels: np.ndarray,
                    gallery: np.ndarray, gallery_labels: np.ndarray,
                    mean_center: bool = False,
                    chunk_size: Optional[int] = None,
                    precision: str = 'float32',
                    limit: Optional[int] = None) -> np.ndarray:
    """0-based first-hit rank of every query (see the module docstring).

    Args:
        query: (Q, D) query embeddings.
        query_labels: (Q,) class of each query.
        gallery: (G, D) gallery embeddings.
        gallery_labels: (G,) class of each gallery video.
        mean_center: centre each set on its own mean before the cosine.
        chunk_size: queries per block (default 2048). A block holds at most
            ``chunk_size x max(1, 2**26 // chunk_size)`` similarities (256 MB
            in float32) and one boolean of that size, whatever the gallery
            size.
        precision: ``'float32'`` or ``'float64'`` arithmetic.
        limit: when given, a query stops being scored once ``limit``
            gallery videos are known to rank above its first hit, and its
            rank is reported as ``limit`` (what R@k with ``k <= limit``
            needs). ``None`` gives every rank exactly.

    Returns:
        int64 (Q,), in query order; :data:`NO_HIT` where the query's class is
        absent from the gallery.
    """
    query_labels = np.asarray(query_labels)
    gallery_labels = np.asarray(gallery_labels)
    query, gallery = np.asarray(query), np.asarray(gallery)
    _check_inputs(query, query_labels, gallery, gallery_labels)
    if precision not in PRECISIONS:
        raise ValueError(f'recall_at_k: precision must be one of '
                         f'{sorted(PRECISIONS)}, got {precision!r}')
    dtype = PRECISIONS[precision]
    chunk_size = min(len(query), CHUNK_QUERIES if chunk_size is None
                     else chunk_size)
    if chunk_size < 1:
        raise ValueError(f'recall_at_k: chunk_size must be >= 1, got '
                         f'{chunk_size}')
    num_gallery = len(gallery)
    columns = max(1, CHUNK_ENTRIES // chunk_size)
    if limit is not None:
        # Several column blocks per query, so that queries can stop early.
        columns = min(columns, max(1, -(-num_gallery // 8)))

    # Both sets grouped by class (stable: gallery order kept within a
    # class), so a class is one contiguous block of gallery columns and a
    # block of queries holds few classes.
    g_order = np.argsort(gallery_labels, kind='stable')
    q_order = np.argsort(query_labels, kind='stable')
    g_labels, q_labels = gallery_labels[g_order], query_labels[q_order]
    g_unit = _unit_rows(gallery, g_order, mean_center, dtype, 'gallery')
    q_unit = _unit_rows(query, q_order, mean_center, dtype, 'query')

    ranks = np.empty(len(query), dtype=np.int64)
    for start in range(0, len(query), chunk_size):
        stop = min(start + chunk_size, len(query))
        ranks[start:stop] = _chunk_ranks(q_unit[start:stop],
                                         q_labels[start:stop], g_unit,
                                         g_labels, g_order, columns, limit)
    out = np.empty_like(ranks)
    out[q_order] = ranks
    return out


def _chunk_ranks(queries: np.ndarray, labels: np.ndarray, g_unit: np.ndarray,
                 g_labels: np.ndarray, g_order: np.ndarray, columns: int,
                 limit: Optional[int]) -> np.ndarray:
    """First-hit ranks of a block of class-sorted queries.

    ``g_unit`` is the class-sorted gallery, ``g_order`` maps its rows back
    to gallery indices; similarities are computed ``columns`` gallery
    videos at a time.
    """
    rows = len(queries)
    best = np.full(rows, np.nan, dtype=queries.dtype)  # NaN: class absent
    first = np.zeros(rows, dtype=np.int64)  # gallery index reaching best
    own = np.zeros((rows, 2), dtype=np.int64)  # own class's gallery rows
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    for lo_row, hi_row in zip(np.r_[0, cuts], np.r_[cuts, rows]):
        label = labels[lo_row]
        lo = np.searchsorted(g_labels, label, side='left')
        hi = np.searchsorted(g_labels, label, side='right')
        if hi == lo:
            continue
        own[lo_row:hi_row] = lo, hi
        block = queries[lo_row:hi_row] @ g_unit[lo:hi].T
        best[lo_row:hi_row] = block.max(axis=1)
        at_best = block == best[lo_row:hi_row, None]
        first[lo_row:hi_row] = g_order[lo + at_best.argmax(axis=1)]

    # Count the OTHER-class videos above the best hit (own class masked
    # out: its similarities were taken above); equal ones count when they
    # come first in gallery order.
    above = np.zeros(rows, dtype=np.int64)
    active = ~np.isnan(best)
    for c0 in range(0, len(g_unit), columns):
        live = np.flatnonzero(active)
        if not live.size:
            break
        c1 = min(c0 + columns, len(g_unit))
        sims = (queries if live.size == rows else queries[live]) \
            @ g_unit[c0:c1].T
        lo = np.clip(own[live, 0] - c0, 0, c1 - c0)
        hi = np.clip(own[live, 1] - c0, 0, c1 - c0)
        for i in np.flatnonzero(hi > lo):
            sims[i, lo[i]:hi[i]] = -np.inf
        cut = best[live]
        count = np.empty(live.size, dtype=np.int64)
        level = np.empty(live.size, dtype=np.int64)
        # A few rows at a time, so the second pass reads from cache.
        step = max(1, PASS_ENTRIES // (c1 - c0))
        for r in range(0, live.size, step):
            part, bar = sims[r:r + step], cut[r:r + step, None]
            count[r:r + step] = np.count_nonzero(part > bar, axis=1)
            level[r:r + step] = np.count_nonzero(part == bar, axis=1)
        for i in np.flatnonzero(level):  # exact ties: rare
            tied = c0 + np.flatnonzero(sims[i] == cut[i])
            count[i] += np.count_nonzero(g_order[tied] < first[live[i]])
        above[live] += count
        if limit is not None:
            active[live[above[live] >= limit]] = False
    if limit is not None:
        above = np.minimum(above, limit)
    return np.where(np.isnan(best), NO_HIT, above)


def recall_at_k(query: np.ndarray, query_labels: np.ndarray,
                gallery: np.ndarray, gallery_labels: np.ndarray,
                topk: Sequence[int] = (1, 5, 10, 20, 50),
                mean_center: bool = False,
                chunk_size: Optional[int] = None,
                precision: str = 'float32') -> Dict[str, float]:
    """Share of queries with a same-class video among their k nearest.

    Exact (no approximate search); ties are broken by gallery order, see the
    module docstring for the precise definition. ``k`` above the gallery size
    counts the whole gallery (with a warning): R@k is then the share of
    queries whose class is in the gallery.

    Args:
        query: (Q, D) query embeddings.
        query_labels: (Q,) class of each query.
        gallery: (G, D) gallery embeddings.
        gallery_labels: (G,) class of each gallery video.
        topk: the values of k (each >= 1).
        mean_center: centre each set on its own mean before the cosine (the
            variant of CoCLR's evaluation).
        chunk_size: queries per block of similarities (default 2048), see
            :func:`first_hit_ranks`; a block holds at most about 2**26
            similarities.
        precision: ``'float32'`` (default) or ``'float64'`` arithmetic.

    Returns:
        ``{'R@k': fraction in [0, 1]}`` for every k.
    """
    topk = [int(k) for k in topk]
    if any(k < 1 for k in topk):
        raise ValueError(f'recall_at_k: every k must be >= 1, got {topk}')
    ranks = first_hit_ranks(query, query_labels, gallery, gallery_labels,
                            mean_center, chunk_size, precision,
                            limit=max(topk, default=1))
    num_gallery = len(gallery)
    beyond = [k for k in topk if k > num_gallery]
    if beyond:
        warnings.warn(f'recall_at_k: k={beyond} exceeds the gallery size '
                      f'({num_gallery}); those R@k count the whole gallery',
                      stacklevel=2)
    return {f'R@{k}': float(np.mean(ranks < k)) for k in topk}


@METRICS.register_module()
class VideoRetrievalMetric(BaseMetric):
    """R@k video retrieval from ``embedding`` fields of predicted samples.

    Queries are the samples whose ``retrieval_role`` is ``'query'`` (the
    test split), the gallery those marked ``'gallery'`` (the train split);
    see :class:`mmcmd.datasets.VideoRetrievalDataset`. A query scores at ``k``
    when ANY of its ``k`` most cosine-similar gallery videos shares its
    class (exact, ties broken by gallery order: :func:`recall_at_k`). Values
    are fractions in [0, 1]. Under several processes mmengine gathers every
    rank's results in dataset order before :meth:`compute_metrics`, so the
    values equal those of one process.

    Args:
        topk: the values of k.
        mean_center: centre each set on its mean before the cosine (CoCLR's
            variant). The published CMD numbers use plain cosine
            (``False``).
        embedding_key: the data-sample field holding the embedding.
        chunk_size: queries per block of similarities (default 2048); a
            block holds at most about 2**26 similarities.
        precision: ``'float32'`` or ``'float64'`` similarity arithmetic.
        collect_device: where mmengine gathers results across processes
            (``'cpu'`` or ``'gpu'``).
        prefix: metric name prefix; default ``'retrieval'``.
    """

    default_prefix = 'retrieval'

    def __init__(self, topk: Sequence[int] = (1, 5, 10, 20, 50),
                 mean_center: bool = False,
                 embedding_key: str = 'embedding',
                 chunk_size: Optional[int] = None,
                 precision: str = 'float32',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(int(k) for k in topk)
        self.mean_center = mean_center
        self.embedding_key = embedding_key
        self.chunk_size = chunk_size
        if precision not in PRECISIONS:
            raise ValueError(f'VideoRetrievalMetric: precision must be one '
                             f'of {sorted(PRECISIONS)}, got {precision!r}')
        self.precision = precision

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's embedding, label and role."""
        for sample in data_samples:
            if self.embedding_key not in sample:
                raise KeyError(
                    f'VideoRetrievalMetric: predictions carry no '
                    f'{self.embedding_key!r} field; use a model whose '
                    "predict mode sets it (VideoEmbedder, CMD).")
            role = sample.get('retrieval_role')
            if role not in ('gallery', 'query'):
                raise KeyError("VideoRetrievalMetric: samples need a "
                               "'retrieval_role'; wrap the datasets in "
                               'VideoRetrievalDataset(gallery=..., '
                               'query=...).')
            label = sample['gt_label']
            self.results.append(dict(
                embedding=np.asarray(sample[self.embedding_key].float().cpu()
                                     if hasattr(sample[self.embedding_key],
                                                'cpu')
                                     else sample[self.embedding_key]),
                label=int(label.item() if hasattr(label, 'item') else label),
                role=role))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """R@k over every query of the collected results."""
        def stack(role: str):
            rows = [r for r in results if r['role'] == role]
            if not rows:
                raise ValueError(f'VideoRetrievalMetric: no {role} videos.')
            return (np.stack([r['embedding'] for r in rows]),
                    np.array([r['label'] for r in rows]))
        query, query_labels = stack('query')
        gallery, gallery_labels = stack('gallery')
        return recall_at_k(query, query_labels, gallery, gallery_labels,
                           self.topk, self.mean_center, self.chunk_size,
                           self.precision)
