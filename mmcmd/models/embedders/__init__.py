"""Models that turn clips into video embeddings (retrieval, search)."""
from .video_embedder import VideoEmbedder

__all__ = ['VideoEmbedder']
