"""Video embeddings, similarity search and checkpoint conversion for users."""
from .clip_sampling import clip_frame_indices, clip_span, clip_start_indices
from .embedding import (embed_clips, embed_video, init_embedder,
                        load_backbone_checkpoint)
from .preprocess import EmbeddingSettings, video_to_clips
from .search import EmbeddingGallery
from .weights import CheckpointMismatchError

__all__ = [
    'init_embedder', 'embed_video', 'embed_clips', 'load_backbone_checkpoint',
    'EmbeddingSettings', 'video_to_clips', 'clip_start_indices',
    'clip_frame_indices', 'clip_span', 'EmbeddingGallery',
    'CheckpointMismatchError'
]
