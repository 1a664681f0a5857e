"""Registered datasets, wrappers and transforms."""
from . import transforms  # noqa: F401
from .retrieval_dataset import VideoRetrievalDataset
from .wrappers import SkipBadVideos

__all__ = ['SkipBadVideos', 'VideoRetrievalDataset']
