"""Registered datasets, wrappers and transforms."""
from .. import _openmmlab  # noqa: F401  (compat first)
from . import transforms  # noqa: F401
from .retrieval_dataset import VideoRetrievalDataset
from .video_dataset import CMDVideoDataset, SkipBadVideosMixin

__all__ = ['CMDVideoDataset', 'SkipBadVideosMixin', 'VideoRetrievalDataset']
