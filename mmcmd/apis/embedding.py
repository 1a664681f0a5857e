"""Video embeddings for people who don't train: init_embedder, embed_video.

One definition of a video's embedding: the config's ``test_pipeline`` (for
the shipped configs, ``configs/_base_/datasets/embedding_pipeline.py``)
followed by :meth:`VideoEmbedder.test_step` (global average pool of the
backbone's final map, mean over the clips; 2048-d for R(2+1)D-26 / R3D-26,
512-d for C3D). ``tools/test.py`` with a retrieval config,
``tools/extract_embeddings.py`` and :func:`embed_video` all run exactly
these two steps. See docs/embedding.md.
"""
from __future__ import annotations

import contextlib
import copy
import os
import warnings
from typing import Iterator, Optional, Sequence, Union

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from torch import nn

from ..models.utils import build_module
from ..utils.checkpoint import (
    load_checkpoint_file,
    load_into,
    select_backbone,
    unwrap_state_dict,
)
from ..utils.setup_env import register_all_modules

ConfigInput = Union[str, os.PathLike, Config, dict]
VideoInput = Union[str, os.PathLike, np.ndarray]

#: the pipeline step that opens a file; arrays use ArrayVideoInit instead.
FILE_INIT = 'CompressedVideoInit'


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


def embedder_model_cfg(model_cfg: dict) -> dict:
    """A ``VideoEmbedder`` cfg for a config's ``model``.

    A ``VideoEmbedder`` is kept as it is; another model with a ``backbone``
    (``Recognizer3D``, ``CMD``) gives its backbone and data preprocessor;
    any other dict is taken as a bare backbone. A backbone ``init_cfg`` of
    type ``Pretrained`` is dropped: the checkpoint given to
    :func:`init_embedder` provides the weights.
    """
    cfg = copy.deepcopy(dict(model_cfg))
    if cfg.get('type') != 'VideoEmbedder':
        backbone = cfg.get('backbone', cfg)
        cfg = dict(type='VideoEmbedder', backbone=backbone)
        if model_cfg.get('data_preprocessor') is not None:
            cfg['data_preprocessor'] = copy.deepcopy(
                dict(model_cfg['data_preprocessor']))
    backbone = dict(cfg['backbone'])
    init_cfg = backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        backbone.pop('init_cfg')
    cfg['backbone'] = backbone
    return cfg


def load_backbone_checkpoint(network: nn.Module, checkpoint: str) -> str:
    """Strictly load a checkpoint's backbone tensors; return the prefix used.

    Accepts a bare backbone state dict (ModelScope), an mmengine checkpoint
    with ``backbone.*`` keys (Recognizer3D, CMD, VideoEmbedder) or an
    official CMD pretraining checkpoint (``rgb_backbone.*``).
    """
    checkpoint = os.fspath(checkpoint)
    state = unwrap_state_dict(load_checkpoint_file(checkpoint), checkpoint)
    backbone_state, prefix = select_backbone(state, checkpoint)
    load_into(network, backbone_state, checkpoint, strict=True,
              what=f'the backbone {type(network).__name__} of the config'
              + (f' (keys under {prefix!r})' if prefix else ''))
    return prefix


def init_embedder(config: ConfigInput, checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """Build the ``VideoEmbedder`` of ``config``, load ``checkpoint``, eval.

    Args:
        config: path, Config or dict with ``model`` and ``test_pipeline``
            (configs/embedding/*.py; a retrieval or finetune config works
            too: its backbone is used).
        checkpoint: bare backbone state dict (ModelScope), mmengine
            checkpoint with ``backbone.*`` keys, or official CMD checkpoint
            (``rgb_backbone.*``); loaded strictly. None: random weights (a
            warning says so).
        device: where the model runs.

    Returns:
        The model in eval mode; ``model.cfg`` is the config.
    """
    cfg = _load_config(config)
    for key in ('model', 'test_pipeline'):
        if key not in cfg:
            raise KeyError(
                f'the embedding config has no `{key}`; use one of '
                'configs/embedding/*.py (model = VideoEmbedder, test_pipeline '
                'from configs/_base_/datasets/embedding_pipeline.py)')
    register_all_modules(init_default_scope=False)
    model = build_module(embedder_model_cfg(cfg.model))
    if checkpoint is None:
        model.backbone.init_weights()
        warnings.warn('init_embedder: no checkpoint given, the embedding '
                      'network has random weights.')
    else:
        load_backbone_checkpoint(model.backbone, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()


def build_test_pipeline(cfg: Config, array: bool = False) -> Compose:
    """``Compose`` of ``cfg.test_pipeline``; ``array=True`` runs it on a
    uint8 (T, H, W, 3) RGB array: ``ArrayVideoInit`` takes the place of
    ``CompressedVideoInit``, every other step stays."""
    register_all_modules(init_default_scope=False)
    steps = copy.deepcopy(list(cfg.test_pipeline))
    if array:
        opens = [i for i, s in enumerate(steps) if s.get('type') == FILE_INIT]
        if not opens:
            raise ValueError(
                f'an RGB array can only go through a test_pipeline that '
                f'starts with {FILE_INIT} (then ArrayVideoInit takes its '
                'place); give the video file instead')
        steps[opens[0]] = dict(type='ArrayVideoInit')
    return Compose([TRANSFORMS.build(step) for step in steps])


def pipeline_input(video: VideoInput) -> dict:
    """The results dict a test pipeline starts from (as a VideoDataset
    item): ``filename`` for a path, ``array`` for decoded frames."""
    base = dict(label=-1, start_index=0, modality='RGB')
    if isinstance(video, np.ndarray):
        return dict(base, array=video)
    return dict(base, filename=os.fspath(video))


@contextlib.contextmanager
def normalization(model: nn.Module, normalize: Optional[bool]
                  ) -> Iterator[None]:
    """Within the block, ``model.normalize`` is ``normalize`` (None: as
    configured)."""
    if normalize is None:
        yield
        return
    before = model.normalize
    model.normalize = bool(normalize)
    try:
        yield
    finally:
        model.normalize = before


@torch.no_grad()
def embed_samples(model: nn.Module, samples: Sequence[dict]) -> np.ndarray:
    """Embeddings float32 (B, C) of test-pipeline outputs, by
    ``model.test_step`` (what mmengine's test loop calls)."""
    outputs = model.test_step(pseudo_collate(list(samples)))
    return np.stack([out.embedding.float().cpu().numpy()
                     for out in outputs]).astype(np.float32)


def embed_video(model: nn.Module, video: VideoInput,
                normalize: Optional[bool] = None) -> np.ndarray:
    """Embedding float32 (C,) of a video path or uint8 (T, H, W, 3) RGB array.

    Runs ``model.cfg.test_pipeline`` then ``model.test_step``, as mmaction2's
    ``inference_recognizer``. ``normalize=None`` follows the config
    (``model.normalize``, False by default, as ModelScope); True gives a
    unit-L2 vector.
    """
    array = isinstance(video, np.ndarray)
    sample = build_test_pipeline(model.cfg, array=array)(pipeline_input(video))
    with normalization(model, normalize):
        return embed_samples(model, [sample])[0]
