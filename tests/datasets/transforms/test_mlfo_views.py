"""MLFO's three clips: the window rule, the clip layout on decoded frames,
one augmentation draw per clip."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmaction.registry import TRANSFORMS

from mmcmd.codec.encode import write_frames
from mmcmd.datasets.transforms import MLFOViews
from mmcmd.datasets.transforms.mlfo import mlfo_window

NUM_FRAMES = 40
LEVEL = 4  # grey level per frame index


@pytest.fixture(scope='module')
def indexed_video(tmp_path_factory) -> str:
    """40 frames 64x48; frame i: grey 4 i plus a left-to-right ramp 0..60
    (mean 4 i + 30 tells the index, the ramp tells a flip)."""
    ramp = np.linspace(0, 60, 64)[None, :, None]
    frames = np.stack([np.broadcast_to(LEVEL * i + ramp, (48, 64, 3))
                       for i in range(NUM_FRAMES)]).round().astype(np.uint8)
    path = tmp_path_factory.mktemp('mlfo') / 'indexed.mp4'
    return write_frames(str(path), frames)


def frame_indices(clip: torch.Tensor) -> np.ndarray:
    """(3, T, H, W) uint8 -> the index of every frame (from its mean)."""
    means = clip.double().mean(dim=(0, 2, 3)).numpy()
    return np.round((means - 30) / LEVEL).astype(np.int64)


def flipped(clip: torch.Tensor) -> bool:
    """Whether the ramp runs right to left."""
    return bool(clip[:, :, :, 0].double().mean()
                > clip[:, :, :, -1].double().mean())


def test_window_rule_with_fixed_draws():
    inds, rate = mlfo_window(100, clip_len=4, rate=1.5, start=2.2)
    assert rate == 1.5
    np.testing.assert_array_equal(
        inds, np.round(2.2 + 1.5 * np.arange(8)).astype(np.int64))
    # a video shorter than the window: rate 1 and the last frame repeated
    inds, rate = mlfo_window(5, clip_len=4)
    assert rate == 1.0
    np.testing.assert_array_equal(inds, [0, 1, 2, 3, 4, 4, 4, 4])


def test_random_window_stays_inside_the_video():
    np.random.seed(0)
    rates = []
    for _ in range(200):
        inds, rate = mlfo_window(NUM_FRAMES, clip_len=8, max_rate=3.0)
        rates.append(rate)
        # rate <= min(3, 40 / 16) and no index had to be clipped
        assert 1.0 <= rate <= NUM_FRAMES / 16
        assert inds[0] >= 0 and inds[-1] <= NUM_FRAMES - 1
        steps = np.diff(inds)
        assert steps.min() >= 1 and steps.max() <= np.ceil(rate)
    assert min(rates) < 1.2 and max(rates) > 2.3  # the range is used


def test_clips_are_clip1_clip2_and_the_half_rate_global_clip(indexed_video):
    np.random.seed(1)
    views = MLFOViews(transforms=[dict(type='PackCMDInputs')], clip_len=8,
                      max_rate=2.0)
    init = TRANSFORMS.build(dict(type='CompressedVideoInit'))
    for _ in range(5):
        out = views(init(dict(filename=indexed_video)))
        imgs = out['inputs']['imgs']
        assert imgs.shape == (3, 3, 8, 48, 64) and imgs.dtype == torch.uint8
        clip1, clip2, glob = (frame_indices(imgs[v]) for v in range(3))
        window = np.concatenate([clip1, clip2])
        steps = np.diff(window)
        assert steps.min() >= 1 and steps.max() <= 2  # rate in [1, 2]
        assert window[-1] - window[0] <= 30  # span <= 31 frames
        np.testing.assert_array_equal(glob, window[::2])
        np.testing.assert_array_equal(glob[:4], clip1[::2])
        np.testing.assert_array_equal(glob[4:], clip2[::2])
        assert out['data_samples'] is not None


def test_every_clip_draws_its_own_augmentation(indexed_video):
    np.random.seed(2)
    views = TRANSFORMS.build(dict(
        type='MLFOViews', clip_len=4, max_rate=2.0,
        transforms=[dict(type='CMDFlip', flip_ratio=0.5),
                    dict(type='PackCMDInputs')]))
    init = TRANSFORMS.build(dict(type='CompressedVideoInit'))
    patterns = set()
    for _ in range(12):
        imgs = views(init(dict(filename=indexed_video)))['inputs']['imgs']
        patterns.add(tuple(flipped(imgs[v]) for v in range(3)))
    # not one draw shared by the three clips: mixed flip patterns occur
    assert any(len(set(p)) == 2 for p in patterns)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='even'):
        MLFOViews(transforms=[], clip_len=7)
    with pytest.raises(ValueError, match='max_rate'):
        MLFOViews(transforms=[], max_rate=0.5)
