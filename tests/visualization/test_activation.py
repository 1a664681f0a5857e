"""Label-free activation maps: channel sum, trilinear upsampling, [0, 1],
JET blending and the picture files, against plain references."""
from __future__ import annotations

import itertools
import math

import av
import numpy as np
import pytest
import torch
from PIL import Image
from visualization_tool_utils import one_torch_thread  # noqa: F401

from mmcmd.models.backbones import R3DResNet
from mmcmd.visualization.activation import (
    activation_map,
    blend_heatmap,
    clip_frames,
    frame_strip,
    normalise_map,
    upsample_map,
    write_pictures,
)
from mmcmd.visualization.panels import StripRenderer, upscale


def _trilinear_reference(small: np.ndarray, size) -> np.ndarray:
    """align_corners=False trilinear resize, one output value at a time."""
    axes = []
    for n_in, n_out in zip(small.shape, size):
        rows = []
        for o in range(n_out):
            s = max((o + 0.5) * n_in / n_out - 0.5, 0.0)
            i0 = min(int(math.floor(s)), n_in - 1)
            i1 = min(i0 + 1, n_in - 1)
            rows.append(((i0, 1 - (s - i0)), (i1, s - i0)))
        axes.append(rows)
    out = np.zeros(size)
    for t, h, w in itertools.product(*(range(n) for n in size)):
        for (a, wa), (b, wb), (c, wc) in itertools.product(
                axes[0][t], axes[1][h], axes[2][w]):
            out[t, h, w] += wa * wb * wc * small[a, b, c]
    return out


class _TwoMaps(torch.nn.Module):
    """A fixed backbone: a 2x-strided conv map and a deeper map (tuple)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        first = self.conv(x)
        return first, torch.relu(first) * 2 - 1


def test_activation_map_equals_loops():
    torch.manual_seed(0)
    net = _TwoMaps().eval()
    clip = torch.randn(3, 6, 8, 10)
    heat = activation_map(net, clip)
    assert heat.shape == (6, 8, 10)
    with torch.no_grad():
        last = net(clip[None])[1][0].numpy()  # the LAST map is used
    channel_sum = np.zeros(last.shape[1:])
    for c in range(last.shape[0]):
        channel_sum += last[c]
    up = _trilinear_reference(channel_sum, (6, 8, 10))
    expected = (up - up.min()) / (up.max() - up.min())
    np.testing.assert_allclose(heat.numpy(), expected, atol=1e-5)
    assert heat.min() == 0 and heat.max() == 1
    # a batch gives one map per clip, each normalised on its own
    batch = activation_map(net, torch.stack([clip, 3 * clip + 1]))
    assert batch.shape == (2, 6, 8, 10)
    torch.testing.assert_close(batch[0], heat)


def test_upsample_matches_reference_for_odd_sizes():
    torch.manual_seed(1)
    small = torch.rand(1, 2, 3, 2)
    out = upsample_map(small, (5, 7, 4))[0].numpy()
    np.testing.assert_allclose(
        out, _trilinear_reference(small[0].numpy(), (5, 7, 4)), atol=1e-6)


def test_normalise_map_per_clip_and_per_frame():
    maps = torch.tensor([[[[1.0, 3.0]], [[2.0, 2.0]]],
                         [[[5.0, 5.0]], [[5.0, 5.0]]]])  # (2, 2, 1, 2)
    clip = normalise_map(maps)
    assert clip[0].flatten().tolist() == [0.0, 1.0, 0.5, 0.5]
    assert clip[1].abs().sum() == 0  # constant: zeros, no NaN
    frame = normalise_map(maps, per_frame=True)
    assert frame[0].flatten().tolist() == [0.0, 1.0, 0.0, 0.0]


def test_blend_endpoints_and_jet_colours():
    frames = np.random.default_rng(0).integers(0, 256, (2, 3, 4, 3),
                                               dtype=np.uint8)
    heat = np.zeros((2, 3, 4))
    heat[1] = 1.0
    assert np.array_equal(blend_heatmap(frames, heat, alpha=0.0), frames)
    full = blend_heatmap(frames, heat, alpha=1.0)
    # JET: 0 is dark blue (0, 0, 0.5), 1 dark red (0.5, 0, 0).
    assert np.all(full[0] == (0, 0, 128)) and np.all(full[1] == (128, 0, 0))
    half = blend_heatmap(frames, heat, alpha=0.5).astype(float)
    reference = 0.5 * full.astype(float) + 0.5 * frames
    assert np.abs(half - reference).max() <= 0.5
    with pytest.raises(ValueError, match='differ'):
        blend_heatmap(frames, heat[:, :2])


def test_frame_strip_places_frames():
    t, h, w = 5, 3, 4
    rows = [np.full((t, h, w, 3), i, np.uint8) for i in range(2)]
    rows[0][:, 0, 0] = np.arange(t)[:, None] * 10
    strip = frame_strip(rows, count=3, gap=1)
    assert strip.shape == (2 * h + 1, 3 * w + 2, 3)
    # frames 0, 2, 4 of row 0 (first pixel holds 10 x the index)
    assert [strip[0, c * (w + 1), 0] for c in range(3)] == [0, 20, 40]
    assert np.all(strip[h + 1:, :w] == 1) and np.all(strip[h, :] == 255)


def test_backbone_map_and_picture_files(tmp_path):
    torch.manual_seed(0)
    net = R3DResNet(depth=10, base_channels=8).eval()
    raw = torch.randint(0, 256, (3, 8, 32, 48), dtype=torch.uint8)
    clip = (raw.float() - 128) / 64
    heat = activation_map(net, clip)
    assert heat.shape == (8, 32, 48)
    assert heat.min() == 0 and heat.max() == 1
    frames = clip_frames(raw)
    assert frames.shape == (8, 32, 48, 3)
    assert np.array_equal(frames[2, 5, 7], raw[:, 2, 5, 7].numpy())
    overlay = blend_heatmap(frames, heat)
    png, gif = write_pictures(str(tmp_path / 'a' / 'clip'),
                              [frames, overlay], fmt='gif', count=4,
                              labels=['frames', 'map'], title='a clip')
    strip = StripRenderer((8, 32, 48), ['frames', 'map'], '', count=4)
    with Image.open(png) as image:
        assert image.size == strip.size and image.size[0] >= 1000
        pixels = np.asarray(image.convert('RGB'))
    x, y, w, h = strip.boxes[1, 1]  # frame 2 of 8 (of 0, 2, 5, 7)
    assert (w, h) == (48 * strip.factor, 32 * strip.factor)
    assert np.array_equal(pixels[y:y + h, x:x + w],
                          upscale(overlay[2], strip.factor))
    with Image.open(gif) as image:
        assert image.n_frames == 8 and image.size[1] >= 256
        assert image.size[0] >= 2 * 48 * 8
    _, mp4 = write_pictures(str(tmp_path / 'clip'), [frames, overlay],
                            fmt='mp4')
    with av.open(mp4) as container:
        decoded = [f.to_ndarray(format='rgb24')
                   for f in container.decode(video=0)]
    assert len(decoded) == 8 and decoded[0].shape[0] >= 256
    assert decoded[0].shape[0] % 2 == 0 and decoded[0].shape[1] % 2 == 0


def _registered_backbones():
    from mmaction.registry import MODELS
    names = sorted(n for n, c in MODELS.module_dict.items()
                   if c.__module__.startswith('mmcmd.models.backbones'))
    cfgs = [dict(type=n, base_channels=8, **(
        dict(depth=10) if 'ResNet' in n else {})) for n in names]
    # an mmaction2 3D backbone works as well
    cfgs.append(dict(type='ResNet3d', depth=18, base_channels=8,
                     pretrained=None, pretrained2d=False))
    return cfgs


@pytest.mark.parametrize('cfg', _registered_backbones(),
                         ids=lambda cfg: cfg['type'])
def test_any_registered_backbone(cfg):
    from mmcmd.models.utils import build_module
    torch.manual_seed(0)
    net = build_module(cfg)
    net.eval()  # mmaction2's ResNet3d.train() returns None
    heat = activation_map(net, torch.randn(2, 3, 8, 32, 32))
    assert heat.shape == (2, 8, 32, 32)
    assert heat.min() >= 0 and heat.max() <= 1
