"""Registered datasets, wrappers and transforms."""
from .retrieval_dataset import VideoRetrievalDataset

__all__ = ['VideoRetrievalDataset']
