"""Video embeddings, similarity search and checkpoint conversion for users."""
from .. import _openmmlab  # noqa: F401  (compat first)
from ..utils.checkpoint import CheckpointMismatchError
from .embedding import (
                        build_test_pipeline,
                        embed_samples,
                        embed_video,
                        init_embedder,
                        load_backbone_checkpoint,
)
from .extraction import VideoPipelineDataset
from .search import EmbeddingGallery

__all__ = [
    'init_embedder', 'embed_video', 'embed_samples', 'build_test_pipeline',
    'load_backbone_checkpoint', 'VideoPipelineDataset', 'EmbeddingGallery',
    'CheckpointMismatchError'
]
