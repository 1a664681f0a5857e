"""Models that turn clips into video embeddings (retrieval, search)."""
from .base import BaseEmbedder
from .video_embedder import VideoEmbedder

__all__ = ['BaseEmbedder', 'VideoEmbedder']
