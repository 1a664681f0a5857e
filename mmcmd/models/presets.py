"""Model configs of the published CMD variants (for tools, tests and docs)."""
from __future__ import annotations

from typing import Dict

CLIP_BACKBONES: Dict[str, dict] = {
    'r2plus1d-26': dict(type='CMDResNet2Plus1d', depth=26, out_indices=(2, 3)),
    'r3d-26': dict(type='CMDResNet3d', depth=26, out_indices=(2, 3)),
    'c3d': dict(type='CMDC3D'),
}


def cmd_model_cfg(backbone: str = 'r2plus1d-26') -> dict:
    """The CMD pretraining model dict for a clip backbone name of
    :data:`CLIP_BACKBONES` (16x112x112 clips, 8x112x112 motion windows)."""
    if backbone not in CLIP_BACKBONES:
        raise KeyError(f'unknown CMD clip backbone {backbone!r}; choose one '
                       f'of {sorted(CLIP_BACKBONES)}.')
    return dict(
        type='CMD',
        backbone=dict(CLIP_BACKBONES[backbone]),
        motion_backbone=dict(type='CMDResNet3d', depth=10, in_channels=2,
                             stem_stride=1),
        keyframe_backbone=dict(type='CMDResNet2d', depth=10,
                               global_pool=True),
        context_head=dict(type='ContextMatchingHead', temperature=0.1,
                          loss_weight=1.0),
        motion_head=dict(type='MotionPredictionHead', embed_dims=512,
                         num_heads=8, num_encoder_layers=2,
                         num_decoder_layers=4, feedforward_channels=512,
                         dropout=0.1, temperature=0.1, loss_weight=1.0),
        clip_shape=(16, 112, 112),
        motion_shape=(8, 112, 112),
        keyframe_shape=(112, 112),
        data_preprocessor=dict(type='CMDDataPreprocessor'))
