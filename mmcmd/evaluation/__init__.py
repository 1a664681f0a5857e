"""Registered evaluation components."""
from .retrieval_metric import VideoRetrievalMetric, recall_at_k

__all__ = ['VideoRetrievalMetric', 'recall_at_k']
