"""A small H.264 video with known motion for the transform tests."""
from __future__ import annotations

import pytest

from mmcmd.codec.samples import write_panning_video

#: content motion of the test video in px/frame (x, y).
MOTION = (2.0, 1.0)


@pytest.fixture(scope='session')
def panning_h264(tmp_path_factory) -> str:
    """128x96 H.264, 48 frames, GOP 12, B-frames, content moving (2, 1)."""
    path = tmp_path_factory.mktemp('transforms') / 'pan.mp4'
    return write_panning_video(str(path), codec='h264', size=(128, 96),
                               frames=48, motion=MOTION, gop=12, bframes=2)


@pytest.fixture(scope='session')
def pan_motion() -> tuple:
    """Content motion (x, y) px/frame of :func:`panning_h264`."""
    return MOTION
