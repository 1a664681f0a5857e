"""mmcmd.visualization: colours, frame choice, flagged frames, animations."""
from __future__ import annotations

import av
import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv
from PIL import Image

from mmcmd.codec import CompressedVideo
from mmcmd.codec.encode import write_frames
from mmcmd.codec.samples import write_panning_video
from mmcmd.visualization import (
    AnimationWriter,
    MotionPictureRenderer,
    colour_wheel,
    direction_hue,
    flow_to_rgb,
    frame_full_scale,
    strongest_frame,
)
from mmcmd.visualization.motion import MIN_FULL_SCALE


def hue_degrees(rgb: np.ndarray) -> np.ndarray:
    """Hue in degrees of RGB uint8 colours (..., 3)."""
    return rgb_to_hsv(rgb.astype(np.float64) / 255)[..., 0] * 360


def hue_gap(a, b):
    """Smallest angle between hues, degrees."""
    gap = np.abs(np.asarray(a) - np.asarray(b)) % 360
    return np.minimum(gap, 360 - gap)


@pytest.mark.parametrize('direction, hue', [
    ((1, 0), 0), ((1, 1), 45), ((0, 1), 90), ((-1, 0), 180),
    ((0, -1), 270), ((1, -1), 315)])
def test_direction_has_its_hue_and_speed_its_saturation(direction, hue):
    dx, dy = direction
    speeds = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    unit = np.hypot(dx, dy)
    motion = np.stack([speeds * dx / unit, speeds * dy / unit])[:, None]
    rgb = flow_to_rgb(motion, None, full_scale=4.0)[0]  # (5, 3)
    hsv = rgb_to_hsv(rgb.astype(np.float64) / 255)
    assert hue_gap(hsv[1:, 0] * 360, hue).max() < 1.5
    assert direction_hue(dx, dy) == pytest.approx(hue)
    # white when still, saturation grows with speed, full from 4 px/frame
    assert rgb[0].tolist() == [255, 255, 255]
    assert hsv[:, 1] == pytest.approx([0, 0.25, 0.5, 1, 1], abs=0.01)
    assert hsv[:, 2] == pytest.approx(1.0, abs=0.01)


def test_cells_without_vectors_are_black():
    motion = np.ones((2, 2, 3), np.float32)
    mask = np.array([[True, False, True], [False, True, True]])
    rgb = flow_to_rgb(motion, mask, 1.0)
    assert (rgb[~mask] == 0).all() and (rgb[mask].max(axis=-1) == 255).all()
    with pytest.raises(ValueError, match='full_scale'):
        flow_to_rgb(motion, mask, 0.0)


def test_colour_wheel_matches_the_field_colours():
    wheel = colour_wheel(41)
    centre = 20
    for dx, dy in ((1, 0), (0, 1), (-1, -1), (1, -1)):
        step = 15 / np.hypot(dx, dy)  # 15 px from the centre, radius 19.5
        point = wheel[centre + round(step * dy), centre + round(step * dx)]
        assert hue_gap(hue_degrees(point), direction_hue(dx, dy)) < 4
    assert wheel[centre, centre].tolist() == [255, 255, 255]
    assert wheel[0, 0].tolist() == [255, 255, 255]  # outside: background


def test_automatic_scale_follows_the_moving_cells():
    motion = np.zeros((2, 10, 10), np.float32)
    motion[0, :4, :4] = 3.0  # 16 moving cells at 3 px/frame, rest still
    mask = np.ones((10, 10), bool)
    assert frame_full_scale(motion, mask) == pytest.approx(3.0)
    motion[0, :4, :4] = 3.217
    assert frame_full_scale(motion, mask) == pytest.approx(3.2)  # printed
    assert frame_full_scale(motion * 0, mask) == MIN_FULL_SCALE
    assert frame_full_scale(motion, mask & False) is None


@pytest.fixture(scope='module')
def pan_video(tmp_path_factory) -> str:
    """H.264 pan of (2, -1) px/frame, 64x48, 16 frames, GOP 8."""
    path = tmp_path_factory.mktemp('vis') / 'pan.mp4'
    return write_panning_video(str(path), size=(64, 48), frames=16,
                               motion=(2.0, -1.0), gop=8)


def test_decoded_pan_is_drawn_in_its_direction_colour(pan_video):
    with CompressedVideo(pan_video) as video:
        out = video.decode(rgb=[0, 5], motion=[0, 5])
        types = video.index.pict_types[[0, 5]].tolist()
    assert types == ['I', 'P']
    renderer = MotionPictureRenderer(64, 48, scale=2)
    moving = renderer.render(out.rgb[1], out.motion[1], out.mask[1], 'P', 5)
    assert moving.has_vectors and moving.note is None
    assert moving.full_scale == pytest.approx(np.hypot(2, 1), abs=0.1)
    # The motion panel sits right of the RGB panel, below the header.
    pad, top = renderer.PAD, renderer.HEADER
    pw, ph = renderer.panel_size
    panel = moving.image[top:top + ph, 2 * pad + pw:2 * pad + 2 * pw]
    inner = panel[8:-8, 8:-8].reshape(-1, 3)
    hues = hue_degrees(inner)
    assert np.median(hue_gap(hues, direction_hue(2, -1))) < 3
    # The RGB panel is the frame, each pixel repeated twice.
    rgb_panel = moving.image[top:top + ph, pad:pad + pw]
    assert np.array_equal(rgb_panel[::2, ::2], out.rgb[1])
    # The I-frame is flagged and its motion panel is black.
    still = renderer.render(out.rgb[0], out.motion[0], out.mask[0], 'I', 0)
    assert not still.has_vectors and still.full_scale is None
    assert still.note == 'I-frame: no motion vectors'
    corner = still.image[top:top + 8, 2 * pad + pw:2 * pad + pw + 8]
    assert (corner == 0).all()
    # A P-frame that lost its vectors is flagged too, not as an I-frame.
    empty = renderer.render(out.rgb[1], out.motion[1], out.mask[1] & False,
                            'P', 5)
    assert empty.note == 'no motion vectors'
    fixed = MotionPictureRenderer(64, 48, full_scale=10.0).render(
        out.rgb[1], out.motion[1], out.mask[1], 'P', 5)
    assert fixed.full_scale == 10.0


def test_strongest_frame_is_the_burst(tmp_path):
    """Content moves 1 px per frame except a 5 px jump into frame 9."""
    rng = np.random.default_rng(3)
    steps = np.ones(16, int)
    steps[0], steps[9] = 0, 5
    offsets = np.cumsum(steps)
    texture = rng.integers(0, 256, (48 // 4, (64 + offsets[-1]) // 4 + 1, 3),
                           dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    frames = np.stack([texture[:, offsets[-1] - o:offsets[-1] - o + 64]
                       for o in offsets])
    path = write_frames(str(tmp_path / 'burst.mp4'), frames, gop=16)
    with CompressedVideo(path) as video:
        motion, mask = video.read_motion(range(16))
    assert strongest_frame(motion, mask) == 9


def test_animation_writer_streams_gif_and_mp4(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    frames = [np.kron(np.roll(base, t, axis=1),
                      np.ones((6, 6, 1), np.uint8)) for t in range(5)]
    for fmt in ('gif', 'mp4'):
        path = str(tmp_path / f'anim.{fmt}')
        with AnimationWriter(path, fps=10) as writer:
            for frame in frames:
                writer.write(frame)
        with av.open(path) as container:
            decoded = [f.to_ndarray(format='rgb24')
                       for f in container.decode(video=0)]
        assert len(decoded) == 5 and decoded[0].shape == (36, 48, 3)
        error = max(np.abs(d.astype(int) - f).mean()
                    for d, f in zip(decoded, frames))
        assert error < (1 if fmt == 'gif' else 12), fmt
    with Image.open(tmp_path / 'anim.gif') as gif:
        assert gif.n_frames == 5 and gif.info['duration'] == 100
    with pytest.raises(ValueError, match='even size'):
        AnimationWriter(str(tmp_path / 'odd.mp4')).write(frames[0][:35])
    with pytest.raises(ValueError, match='.gif or .mp4'):
        AnimationWriter(str(tmp_path / 'anim.avi'))
