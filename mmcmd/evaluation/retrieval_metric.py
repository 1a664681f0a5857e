"""Nearest-neighbour video retrieval: R@k of test queries in a train gallery."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric


def recall_at_k(query: np.ndarray, query_labels: np.ndarray,
                gallery: np.ndarray, gallery_labels: np.ndarray,
                topk: Sequence[int] = (1, 5, 10, 20, 50),
                mean_center: bool = False) -> Dict[str, float]:
    """Share of queries with a same-class video among their k nearest.

    Similarity is the cosine of the two feature vectors. With
    ``mean_center`` each set is first centred on its own mean (the variant
    of CoCLR's evaluation). Ties are broken by gallery order. ``k`` larger
    than the gallery counts the whole gallery.
    """
    query = np.asarray(query, dtype=np.float64)
    gallery = np.asarray(gallery, dtype=np.float64)
    if mean_center:
        query = query - query.mean(axis=0, keepdims=True)
        gallery = gallery - gallery.mean(axis=0, keepdims=True)
    query = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True),
                               1e-12)
    gallery = gallery / np.maximum(
        np.linalg.norm(gallery, axis=1, keepdims=True), 1e-12)
    similarity = query @ gallery.T
    order = np.argsort(-similarity, axis=1, kind='stable')
    hits = gallery_labels[order] == query_labels[:, None]
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1), np.inf)
    return {f'R@{k}': float(np.mean(first_hit < k)) for k in topk}


@METRICS.register_module()
class VideoRetrievalMetric(BaseMetric):
    """R@k video retrieval from ``embedding`` fields of predicted samples.

    Queries are the samples whose ``retrieval_role`` is ``'query'`` (the
    test split), the gallery those marked ``'gallery'`` (the train split);
    see :class:`mmcmd.datasets.VideoRetrievalDataset`. A query scores at ``k``
    when ANY of its ``k`` most cosine-similar gallery videos shares its
    class. Values are fractions in [0, 1].

    Args:
        topk: the values of k.
        mean_center: centre each set on its mean before the cosine (CoCLR's
            variant). The published CMD numbers use plain cosine
            (``False``).
        embedding_key: the data-sample field holding the embedding.
    """

    default_prefix = 'retrieval'

    def __init__(self, topk: Sequence[int] = (1, 5, 10, 20, 50),
                 mean_center: bool = False,
                 embedding_key: str = 'embedding',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(int(k) for k in topk)
        self.mean_center = mean_center
        self.embedding_key = embedding_key

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
                raise KeyError('VideoRetrievalMetric: samples need a '
                               "'retrieval_role'; wrap the datasets in "
                               'VideoRetrievalDataset(gallery=..., query=...).')
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
                           self.topk, self.mean_center)
