"""Seeded outputs of the views wrappers and of the training samplers.

:func:`compute` runs ``MultiView``, ``DSMViews`` and ``MLFOViews`` (on an
in-memory video, so no encoder is involved) and the CMD, DSM and MLFO
samplers for fixed seeds, and returns the sampled indices and a digest of
every stacked view tensor. ``tests/data/recorded_transforms.json`` holds
what the implementation of each before their merge into one wrapper and
one sampling module returned; ``test_recorded_outputs.py`` checks that
the current code still returns it. Run this file to rewrite the record
(only when a change of outputs is intended).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from typing import Dict, List

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import Compose

import mmcmd.datasets.transforms  # noqa: F401  (registers the transforms)
from mmcmd.codec.samples import panning_frames

RECORD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'data', 'recorded_transforms.json')
SEEDS = (0, 1, 2)
LENGTHS = (5, 17, 40, 61, 200)

AUGMENT = [
    dict(type='CMDRandomResizedCrop', area_range=(0.2, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3), scale=(32, 32)),
    dict(type='CMDFlip', flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.4, 0.4, 0.4, 0.1), jitter_prob=0.5, grayscale_prob=0.2,
         blur_sigma=(0.1, 2.0), blur_prob=0.5),
]
PIPELINES = {
    'MultiView': [
        dict(type='ArrayVideoInit'),
        dict(type='MultiView', num_views=2, keys=('imgs', ), transforms=[
            dict(type='SampleFrames', clip_len=4, frame_interval=2,
                 num_clips=1),
            dict(type='CMDDecode', close=False), *AUGMENT,
            dict(type='PackCMDInputs')]),
    ],
    'DSMViews': [
        dict(type='ArrayVideoInit'),
        dict(type='DSMSampleFrames', clip_len=4, frame_interval=2,
             negative='intra_video'),
        dict(type='CMDDecode'),
        dict(type='DSMViews', transforms=AUGMENT,
             positive_transforms=[dict(type='SpatialLocalDisturbance')],
             negative_transforms=[dict(type='TemporalLocalDisturbance')],
             pack=dict(type='PackCMDInputs')),
    ],
    'MLFOViews': [
        dict(type='ArrayVideoInit'),
        dict(type='MLFOViews', clip_len=4, max_rate=3.0, keys=('imgs', ),
             transforms=[*AUGMENT, dict(type='PackCMDInputs')]),
    ],
}


def seed_all(seed: int) -> None:
    """Seed the generators the transforms draw from."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def digest(tensor: torch.Tensor) -> str:
    """Shape, dtype and sha256 of a tensor's bytes."""
    array = tensor.numpy()
    return (f'{list(array.shape)} {array.dtype} '
            f'{hashlib.sha256(array.tobytes()).hexdigest()[:16]}')


def views() -> Dict[str, List[str]]:
    """Per wrapper and seed, the digest of the stacked ``imgs``."""
    frames = panning_frames((64, 48), 40, (2.0, 1.0), seed=3)
    out = {}
    for name, steps in PIPELINES.items():
        pipeline = Compose([TRANSFORMS.build(s) for s in steps])
        for seed in SEEDS:
            seed_all(seed)
            packed = pipeline(dict(array=frames.copy(), start_index=0))
            out[f'{name}/{seed}'] = [digest(packed['inputs'][k])
                                     for k in sorted(packed['inputs'])]
    return out


def _as_list(results: dict, keys) -> list:
    return [np.asarray(results[k]).tolist() for k in keys]


def samplers() -> Dict[str, list]:
    """Per sampler, setting, video length and seed, the indices drawn."""
    cmd_keys = ('frame_inds', 'motion_inds', 'negative_motion_inds',
                'keyframe_ind')
    settings = {
        'CMDSampleFrames/train': dict(type='CMDSampleFrames', clip_len=4,
                                      frame_interval=3, motion_len=4),
        'CMDSampleFrames/test': dict(type='CMDSampleFrames', clip_len=4,
                                     frame_interval=3, motion_len=4,
                                     test_mode=True),
        'CMDSampleFrames/no_motion': dict(type='CMDSampleFrames',
                                          clip_len=8, frame_interval=2,
                                          motion_len=0),
        'DSMSampleFrames/same': dict(type='DSMSampleFrames', clip_len=4,
                                     frame_interval=2),
        'DSMSampleFrames/intra_video': dict(
            type='DSMSampleFrames', clip_len=4, frame_interval=4,
            negative='intra_video', min_gap=3),
        'SegmentCenterSampleFrames': dict(type='SegmentCenterSampleFrames',
                                          clip_len=4, frame_interval=4,
                                          num_clips=3),
    }
    out: Dict[str, list] = {}
    for name, cfg in settings.items():
        sampler = TRANSFORMS.build(cfg)
        keys = cmd_keys if name.startswith('CMD') else ('frame_inds', )
        for length in LENGTHS:
            for seed in SEEDS:
                seed_all(seed)
                rows = [_as_list(sampler(dict(total_frames=length)), keys)
                        for _ in range(3)]
                out[f'{name}/{length}/{seed}'] = rows
    from mmcmd.datasets.transforms.mlfo import mlfo_window
    for length in LENGTHS:
        for seed in SEEDS:
            seed_all(seed)
            rows = []
            for _ in range(3):
                inds, rate = mlfo_window(length, clip_len=4, max_rate=3.0)
                rows.append([inds.tolist(), rate])
            out[f'mlfo_window/{length}/{seed}'] = rows
    return out


def compute() -> dict:
    """Everything the record holds, ``'views/...'`` and ``'samplers/...'``
    keys."""
    out = {f'views/{k}': v for k, v in views().items()}
    out.update({f'samplers/{k}': v for k, v in samplers().items()})
    return out


def load() -> dict:
    """The record (JSON lists for tuples, as :func:`compute` gives after a
    round trip)."""
    with open(RECORD) as file:
        return json.load(file)


if __name__ == '__main__':
    record = compute()
    with open(RECORD, 'w') as file:  # one entry per line
        file.write('{\n' + ',\n'.join(
            f'{json.dumps(k)}: {json.dumps(record[k])}'
            for k in sorted(record)) + '\n}\n')
    print(RECORD)
