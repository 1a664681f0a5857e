"""RandomRotation: one angle per clip, shape and dtype kept, a known
pattern lands where the drawn angle sends it."""
from __future__ import annotations

import math

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS

from mmcmd.datasets.transforms import RandomRotation
from mmcmd.datasets.transforms.rotation import rotate_frames


def dot_frames(size: int = 65, radius: float = 20.0, frames: int = 4):
    """Frames with a 3x3 red dot ``radius`` px right of the centre and,
    from frame 1 on, a 3x3 green dot ``radius`` px above it."""
    clip = np.zeros((frames, size, size, 3), np.uint8)
    c = size // 2
    r = int(radius)
    clip[:, c - 1:c + 2, c + r - 1:c + r + 2, 0] = 255
    clip[1:, c - r - 1:c - r + 2, c - 1:c + 2, 1] = 255
    return clip


def centroid(image: np.ndarray, channel: int) -> tuple:
    """(x, y) intensity centroid of one channel."""
    weights = image[..., channel].astype(np.float64)
    ys, xs = np.mgrid[:image.shape[0], :image.shape[1]]
    total = weights.sum()
    return (xs * weights).sum() / total, (ys * weights).sum() / total


def test_registered_under_its_name():
    assert TRANSFORMS.get('RandomRotation') is RandomRotation
    built = TRANSFORMS.build(dict(type='RandomRotation', max_angle=10))
    assert built.max_angle == 10.0 and built.keys == ('imgs', )


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_known_pattern_rotates_by_drawn_angle(seed):
    np.random.seed(seed)
    clip = dot_frames()
    results = RandomRotation(max_angle=30)(dict(imgs=clip.copy()))
    angle = results['rotation_angle']
    assert -30 <= angle <= 30
    out = results['imgs']
    assert out.shape == clip.shape and out.dtype == np.uint8
    c = 32.0
    theta = math.radians(angle)
    # Counter-clockwise on screen (y points down): (dx, dy) ->
    # (dx cos + dy sin, -dx sin + dy cos).
    want_red = (c + 20 * math.cos(theta), c - 20 * math.sin(theta))
    want_green = (c - 20 * math.sin(theta), c - 20 * math.cos(theta))
    for t in range(len(clip)):
        got = centroid(out[t], 0)
        assert np.allclose(got, want_red, atol=0.2), (t, got, want_red)
        if t:
            got = centroid(out[t], 1)
            assert np.allclose(got, want_green, atol=0.2), (t, got)
        else:
            assert not out[t, ..., 1].any()


def test_all_frames_share_one_angle():
    np.random.seed(3)
    same = np.repeat(dot_frames(frames=1), 6, axis=0)
    out = RandomRotation(max_angle=10)(dict(imgs=same))['imgs']
    assert (out == out[:1]).all()


def test_quarter_turn_matches_rot90():
    clip = np.random.default_rng(0).integers(0, 256, (3, 9, 9, 3), np.uint8)
    turned = rotate_frames(clip, 90.0, 'nearest')
    assert (turned == np.rot90(clip, 1, axes=(1, 2))).all()


def test_angles_cover_the_range_uniformly():
    np.random.seed(0)
    rotation = RandomRotation(max_angle=10)
    angles = np.array([rotation(dict())['rotation_angle']
                       for _ in range(2000)])
    assert angles.min() >= -10 and angles.max() <= 10
    counts, _ = np.histogram(angles, bins=4, range=(-10, 10))
    assert (np.abs(counts - 500) < 80).all(), counts


def test_list_input_non_square_and_other_keys():
    np.random.seed(5)
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (24, 40, 3), np.uint8) for _ in range(5)]
    keyframe = rng.integers(0, 256, (24, 40, 3), np.uint8)
    results = RandomRotation(keys=('imgs', 'keyframe'))(
        dict(imgs=frames, keyframe=keyframe))
    assert results['imgs'].shape == (5, 24, 40, 3)
    assert results['imgs'].dtype == np.uint8
    assert results['keyframe'].shape == (24, 40, 3)
    angle = results['rotation_angle']
    for i, frame in enumerate(frames):
        assert (results['imgs'][i] == rotate_frames(frame, angle)).all()
    assert (results['keyframe'] == rotate_frames(keyframe, angle)).all()
    # Pixels near the centre stay close to the input (small angle).
    assert abs(angle) <= 10


def test_rejects_bad_arguments_and_motion():
    with pytest.raises(ValueError):
        RandomRotation(max_angle=0)
    with pytest.raises(ValueError):
        RandomRotation(interpolation='bicubic')
    with pytest.raises(ValueError, match='motion'):
        RandomRotation()(dict(imgs=dot_frames(),
                              motion=np.zeros((2, 2, 4, 4), np.float32)))
    with pytest.raises(TypeError):
        rotate_frames(np.zeros((2, 4, 4, 3), np.float32), 5.0)
