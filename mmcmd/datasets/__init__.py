"""Registered datasets, wrappers and transforms."""
from .retrieval_dataset import VideoRetrievalDataset
from .wrappers import SkipBadVideos

__all__ = ['SkipBadVideos', 'VideoRetrievalDataset']
