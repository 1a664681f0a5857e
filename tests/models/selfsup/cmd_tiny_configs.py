"""Tiny CMD configs and synthetic batches shared by the model tests."""
from __future__ import annotations

from typing import Dict, List

import torch

CLIP_SHAPE = (8, 32, 32)
MOTION_SHAPE = (4, 32, 32)


def tiny_cmd_cfg(backbone: dict = None,
                 neck: dict = dict(type='ClipMapFusion')) -> dict:
    """A CMD config with 8-channel ResNet-10s and a 1+1 layer transformer."""
    if backbone is None:
        backbone = dict(type='CMDResNet2Plus1d', depth=10, base_channels=8,
                        out_indices=(2, 3))
    return dict(
        type='CMD',
        backbone=backbone,
        neck=neck,
        motion_backbone=dict(type='CMDResNet3d', depth=10, in_channels=2,
                             base_channels=8, stem_stride=1),
        keyframe_backbone=dict(type='CMDResNet2d', depth=10, base_channels=8,
                               global_pool=True),
        context_head=dict(type='ContextMatchingHead', hidden_channels=32,
                          out_channels=16),
        motion_head=dict(type='MotionPredictionHead', embed_dims=32,
                         num_heads=4, num_encoder_layers=1,
                         num_decoder_layers=1, feedforward_channels=32,
                         hidden_channels=32, out_channels=16),
        clip_shape=CLIP_SHAPE,
        motion_shape=MOTION_SHAPE,
        keyframe_shape=CLIP_SHAPE[1:])


def synthetic_batch(batch: int = 4, negatives: int = 2,
                    seed: int = 0) -> Dict[str, List[torch.Tensor]]:
    """A pseudo-collated pretraining batch as the pipeline packs it."""
    g = torch.Generator().manual_seed(seed)
    t, h, w = CLIP_SHAPE
    tm = MOTION_SHAPE[0]
    inputs = dict(
        imgs=[torch.randint(0, 256, (3, t, h, w), generator=g,
                            dtype=torch.uint8) for _ in range(batch)],
        keyframe=[torch.randint(0, 256, (3, h, w), generator=g,
                                dtype=torch.uint8) for _ in range(batch)],
        motion=[torch.rand(2, tm, h, w, generator=g) * 2 - 1
                for _ in range(batch)],
        negative_motion=[torch.rand(negatives, 2, tm, h, w, generator=g) * 2 - 1
                         for _ in range(batch)])
    return dict(inputs=inputs, data_samples=None)
