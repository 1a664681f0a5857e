"""Tiny inputs for the visualisation tests: a config with a small backbone
and an 8-frame, 32-pixel test pipeline, generated videos of an object
moving over a scene, and a one-thread fixture."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List

import numpy as np
import pytest
import torch

from mmcmd.datasets import synthetic


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Run each test with one torch thread, then restore the setting (the
    tensors are tiny: on busy cores the hand-offs between torch's threads
    cost over ten times the arithmetic). Autouse where imported."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


#: frames, side (px) and clips of the tiny test pipeline.
CLIP_LEN, SIDE, NUM_CLIPS = 8, 32, 2

TINY_CONFIG = f"""
custom_imports = dict(imports=['mmcmd'], allow_failed_imports=False)
default_scope = 'mmaction'
model = dict(type='VideoEmbedder',
             backbone=dict(type='R3DResNet', depth=10, base_channels=8))
test_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SegmentCenterSampleFrames', clip_len={CLIP_LEN},
         frame_interval=1, num_clips={NUM_CLIPS},
         out_of_bound_opt='first_frame'),
    dict(type='CMDDecode'),
    dict(type='PILResize', short_side={SIDE}),
    dict(type='CenterCrop', crop_size={SIDE}),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
"""


def write_tiny_config(folder: Path) -> Path:
    """The tiny embedding config as ``folder/tiny_embedding.py``."""
    path = folder / 'tiny_embedding.py'
    path.write_text(TINY_CONFIG)
    return path


def write_moving_object_videos(folder: Path, count: int,
                               num_frames: int = 16) -> List[Path]:
    """``count`` H.264 videos (40x32 px) of the synthetic benchmark's
    object moving right over a scene; their paths."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        frames = synthetic.render_video(0, i % 3, rng, size=(40, 32),
                                        num_frames=num_frames)
        path = folder / f'video{i}.mp4'
        synthetic.write_video(str(path), frames)
        paths.append(path)
    return paths
