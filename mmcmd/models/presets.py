"""The published CMD variants as model dicts, defined here in Python.

``cmd_model_cfg('r2plus1d-26')`` is the CMD pretraining ``model`` dict with
the R(2+1)D-26 clip encoder and ``CLIP_BACKBONES['r2plus1d-26']`` its
``backbone``. The library reads no file for them, so they work from an
installed wheel. ``configs/_base_/models/cmd_<name>.py`` holds the same
dicts for configs; ``tests/configs_tree/test_presets.py`` checks that each
preset equals the model dict of the config it mirrors.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Mapping

#: variant name -> clip backbone cfg (``configs/_base_/models/cmd_*.py``)
CLIP_BACKBONES: Mapping[str, dict] = {
    'c3d': dict(type='CMDC3D'),
    'r2plus1d-26': dict(type='CMDResNet2Plus1d', depth=26, out_indices=(2, 3)),
    'r3d-26': dict(type='CMDResNet3d', depth=26, out_indices=(2, 3)),
}

#: variant name -> neck: the R(2+1)D and R3D stage 3 folded in time and
#: stage 4 upsampled (2048x2x7x7 clip map); C3D's own 512x2x7x7 map as it is
NECKS: Dict[str, dict | None] = {
    'c3d': None,
    'r2plus1d-26': dict(type='ClipMapFusion'),
    'r3d-26': dict(type='ClipMapFusion'),
}


def _infonce() -> dict:
    return dict(type='GatheredInfoNCE', temperature=0.1, loss_weight=1.0)


def variant_names() -> List[str]:
    """Names of the published variants ('c3d', 'r2plus1d-26', 'r3d-26')."""
    return sorted(CLIP_BACKBONES)


def cmd_model_cfg(backbone: str = 'r2plus1d-26') -> dict:
    """The CMD pretraining model dict of a published variant (16x112x112
    clips, 8x112x112 motion windows); a new dict on every call.

    Args:
        backbone (str): one of :func:`variant_names`, the clip encoder.
            Defaults to ``'r2plus1d-26'`` (72,126,991 parameters, as the
            reference implementation).
    """
    if backbone not in CLIP_BACKBONES:
        raise KeyError(f'unknown CMD clip backbone {backbone!r}; choose one '
                       f'of {variant_names()} (configs/_base_/models/'
                       'cmd_*.py).')
    return dict(
        type='CMD',
        backbone=copy.deepcopy(CLIP_BACKBONES[backbone]),
        neck=copy.deepcopy(NECKS[backbone]),
        motion_backbone=dict(type='CMDResNet3d', depth=10, in_channels=2,
                             stem_stride=1),
        keyframe_backbone=dict(type='CMDResNet2d', depth=10,
                               global_pool=True),
        context_head=dict(type='ContextMatchingHead', loss=_infonce()),
        motion_head=dict(
            type='MotionPredictionHead', embed_dims=512, num_heads=8,
            num_encoder_layers=2, num_decoder_layers=4,
            feedforward_channels=512, dropout=0.1, loss=_infonce()),
        clip_shape=(16, 112, 112),
        motion_shape=(8, 112, 112),
        keyframe_shape=(112, 112),
        data_preprocessor=dict(type='CMDDataPreprocessor'))
