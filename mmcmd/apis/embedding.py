"""Video embeddings for people who don't train: init_embedder, embed_video.

The embedding of a video is the global average pool of the backbone's final
map, averaged over ``num_clips`` clips (2048-d for R(2+1)D-26 / R3D-26, 512-d
for C3D), optionally L2-normalised. See docs/embedding.md.
"""
from __future__ import annotations

import copy
import os
import warnings
from typing import Mapping, Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from ..utils import load_checkpoint_file
from .preprocess import EmbeddingSettings, VideoInput, video_to_clips
from .weights import load_strict, select_backbone, unwrap_state_dict

ConfigInput = Union[str, os.PathLike, Config, dict]


def _load_config(config: ConfigInput) -> Config:
    """A Config from a path, a Config or a plain dict."""
    if isinstance(config, (str, os.PathLike)):
        return Config.fromfile(os.fspath(config))
    if isinstance(config, Config):
        return copy.deepcopy(config)
    if isinstance(config, dict):
        return Config(copy.deepcopy(config))
    raise TypeError(f'config must be a path, Config or dict, got '
                    f'{type(config).__name__}')


def build_embedding_network(model_cfg: Mapping) -> nn.Module:
    """The clip encoder of a model cfg: the bare backbone, or ``.backbone`` of
    a wrapper (Recognizer3D, CMD)."""
    import mmcmd  # noqa: F401  (registers the mmcmd models)
    from mmcmd.models.selfsup.base import build_module
    model = build_module(dict(model_cfg))
    backbone = getattr(model, 'backbone', None)
    return backbone if isinstance(backbone, nn.Module) else model


def load_backbone_checkpoint(network: nn.Module, checkpoint: str) -> str:
    """Strictly load a checkpoint's backbone tensors; return the prefix used.

    Accepts a bare backbone state dict (ModelScope), an mmengine checkpoint
    with ``backbone.*`` keys (Recognizer3D, CMD) or an official CMD
    pretraining checkpoint (``rgb_backbone.*``).
    """
    checkpoint = os.fspath(checkpoint)
    state = unwrap_state_dict(load_checkpoint_file(checkpoint), checkpoint)
    backbone_state, prefix = select_backbone(state, checkpoint)
    load_strict(network, backbone_state, checkpoint,
                what=f'the backbone {type(network).__name__} of the config'
                + (f' (keys under {prefix!r})' if prefix else ''))
    return prefix


def init_embedder(config: ConfigInput, checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """Build the embedding backbone of ``config``, load ``checkpoint``, eval.

    The returned module carries ``embedding_cfg`` (:class:`EmbeddingSettings`
    from the config's ``embedding`` dict). Without a checkpoint the weights
    are random (a warning says so).
    """
    cfg = _load_config(config)
    if 'model' not in cfg:
        raise KeyError('the embedding config has no `model` dict; use one of '
                       'configs/embedding/*.py')
    network = build_embedding_network(cfg.model)
    if checkpoint is None:
        network.init_weights()
        warnings.warn('init_embedder: no checkpoint given, the embedding '
                      'network has random weights.')
    else:
        load_backbone_checkpoint(network, checkpoint)
    embedding = cfg.get('embedding', None) or {}
    network.embedding_cfg = EmbeddingSettings.from_cfg(dict(embedding))
    return network.to(device).eval()


def pool_features(features: Union[torch.Tensor, tuple]) -> torch.Tensor:
    """(N, C) global average pool of a backbone's final output."""
    x = features[-1] if isinstance(features, (tuple, list)) else features
    return x.flatten(2).mean(-1) if x.dim() > 2 else x


@torch.no_grad()
def embed_clips(model: nn.Module, clips: torch.Tensor,
                normalize: bool = False) -> torch.Tensor:
    """(B, num_clips, 3, T, H, W) or (num_clips, 3, T, H, W) -> (B, C) / (C,)
    clip-averaged embeddings, L2-normalised if ``normalize``."""
    single = clips.dim() == 5
    if single:
        clips = clips.unsqueeze(0)
    if clips.dim() != 6:
        raise ValueError('clips must be (B, num_clips, 3, T, H, W), got '
                         f'{tuple(clips.shape)}')
    device = next(model.parameters()).device
    b, n = clips.shape[:2]
    vectors = pool_features(model(clips.flatten(0, 1).to(device)))
    vectors = vectors.float().view(b, n, -1).mean(dim=1)
    if normalize:
        vectors = torch.nn.functional.normalize(vectors, dim=1)
    return vectors[0] if single else vectors


def embedding_settings(model: nn.Module) -> EmbeddingSettings:
    """The model's ``embedding_cfg`` (defaults when absent)."""
    settings = getattr(model, 'embedding_cfg', None)
    return settings if isinstance(settings, EmbeddingSettings) \
        else EmbeddingSettings()


def embed_video(model: nn.Module, video: VideoInput,
                normalize: Optional[bool] = None) -> np.ndarray:
    """Embedding float32 (C,) of a video path or uint8 (T, H, W, 3) RGB array.

    ``normalize=None`` follows the config (``embedding.normalize``, False by
    default, as ModelScope); True gives a unit-L2 vector.
    """
    settings = embedding_settings(model)
    if normalize is None:
        normalize = settings.normalize
    clips = video_to_clips(video, settings)
    return embed_clips(model, clips, normalize).cpu().numpy().astype(
        np.float32)
