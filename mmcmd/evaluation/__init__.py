"""Registered evaluation components."""
from .. import _openmmlab  # noqa: F401  (compat and registration first)
from .retrieval_metric import VideoRetrievalMetric, recall_at_k

__all__ = ['VideoRetrievalMetric', 'recall_at_k']
