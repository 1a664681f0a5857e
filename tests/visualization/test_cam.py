"""Temporal-reversal CAM: the class map against loops, the probe, and a run
on generated videos with a moving object."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from visualization_tool_utils import one_torch_thread  # noqa: F401

from mmcmd.datasets import synthetic
from mmcmd.models.backbones import R3DResNet
from mmcmd.visualization.cam import (
    REVERSED,
    cam,
    class_activation_map,
    fit_linear_probe,
    pooled_features,
    probe_accuracy,
    reversal_cam,
    reversal_features,
)


def test_class_map_equals_weighted_sum_by_loops():
    torch.manual_seed(0)
    fmap = torch.randn(2, 5, 3, 4, 2)  # (N, C, T, H, W)
    weight = torch.randn(5)
    out = class_activation_map(fmap, weight)
    assert out.shape == (2, 3, 4, 2)
    for n, t, h, w in itertools.product(range(2), range(3), range(4),
                                        range(2)):
        total = 0.0
        for c in range(5):
            total += weight[c].item() * fmap[n, c, t, h, w].item()
        assert out[n, t, h, w].item() == pytest.approx(total, abs=1e-5)
    torch.testing.assert_close(class_activation_map(fmap[1], weight), out[1])
    with pytest.raises(ValueError, match='channels'):
        class_activation_map(fmap, torch.randn(4))


def test_class_map_mean_is_the_probe_logit():
    """No bias + average pool: mean of the raw class map == logit."""
    torch.manual_seed(0)
    net = R3DResNet(depth=10, base_channels=8).eval()
    clips = torch.randn(3, 3, 8, 32, 32)
    probe = torch.nn.Linear(64, 2, bias=False)
    with torch.no_grad():
        logits = probe(pooled_features(net, clips, batch_size=2))
        fmap = net(clips)
    for k in range(2):
        means = class_activation_map(fmap, probe.weight[k]).mean((1, 2, 3))
        torch.testing.assert_close(means, logits[:, k], atol=1e-5,
                                   rtol=1e-4)


def test_probe_separates_separable_features():
    gen = torch.Generator().manual_seed(0)
    direction = torch.randn(16, generator=gen)

    def draw(n):
        x = torch.randn(n, 16, generator=gen)
        y = (x @ direction > 0).long()
        return x + 1.5 * direction * (2 * y[:, None] - 1), y

    x_train, y_train = draw(200)
    x_test, y_test = draw(100)
    probe = fit_linear_probe(x_train, y_train, epochs=60, lr=1e-2,
                             batch_size=32, seed=0, solver='adam')
    assert probe.bias is None and probe.weight.shape == (2, 16)
    assert not probe.training and not probe.weight.requires_grad
    acc = probe_accuracy(probe, x_test, y_test)
    counted = sum(int(torch.argmax(probe(x_test[i])) == y_test[i])
                  for i in range(len(y_test))) / len(y_test)
    assert acc == pytest.approx(counted)
    assert acc == 1.0
    again = fit_linear_probe(x_train, y_train, epochs=60, lr=1e-2,
                             batch_size=32, seed=0, solver='adam')
    assert torch.equal(again.weight, probe.weight)  # seeded


def test_lbfgs_probe_finds_a_small_signal_on_a_large_common_part():
    """Order features look like this: a large positive part shared by a
    clip and its reversal, a small difference between them. The default
    solver fits them as well as scikit-learn's bias-free logistic
    regression (same objective up to the two-class parametrisation)."""
    from sklearn.linear_model import LogisticRegression
    gen = torch.Generator().manual_seed(1)
    common = 1.0 + torch.rand(150, 32, generator=gen)
    direction = torch.randn(32, generator=gen)
    signal = 0.1 * direction + 0.03 * torch.randn(150, 32, generator=gen)
    x = torch.cat([common + signal, common - signal])
    y = torch.cat([torch.zeros(150), torch.ones(150)]).long()
    reference = LogisticRegression(fit_intercept=False, C=1 / (1e-3 * 300),
                                   max_iter=10000).fit(x.numpy(), y.numpy())
    expected = reference.score(x.numpy(), y.numpy())
    probe = fit_linear_probe(x, y, weight_decay=1e-3)
    assert expected > 0.9
    assert probe_accuracy(probe, x, y) == pytest.approx(expected, abs=0.02)
    again = fit_linear_probe(x, y, weight_decay=1e-3)
    assert torch.equal(again.weight, probe.weight)  # deterministic
    with pytest.raises(ValueError, match='solver'):
        fit_linear_probe(x, y, solver='sgd')


def _moving_object_clips(num: int, size: int = 32, frames: int = 8):
    """Normalised clips and uint8 frames of synthetic objects moving right
    over a scene (real renderer of the synthetic benchmark)."""
    rng = np.random.default_rng(0)
    raw = np.stack([synthetic.render_video(0, i % 3, rng, size=(size, size),
                                           num_frames=frames)
                    for i in range(num)])  # (N, T, H, W, 3)
    clips = torch.from_numpy(raw).permute(0, 4, 1, 2, 3).float()
    return (clips - 128) / 64, raw


def test_reversal_features_interleave_clip_and_reversal():
    torch.manual_seed(0)
    net = R3DResNet(depth=10, base_channels=8).eval()
    clips, _ = _moving_object_clips(2)
    features, labels = reversal_features(net, clips)
    assert labels.tolist() == [0, 1, 0, 1]
    with torch.no_grad():
        flipped = net(clips[1:2].flip(2)).mean((2, 3, 4))
    torch.testing.assert_close(features[3:4], flipped, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(features[0::2], pooled_features(net, clips))


def test_reversal_cam_on_moving_object_videos():
    torch.manual_seed(0)
    net = R3DResNet(depth=10, base_channels=8, temporal_pool=False).eval()
    clips, raw = _moving_object_clips(8)
    features, labels = reversal_features(net, clips[:6])
    probe = fit_linear_probe(features, labels, epochs=30, lr=1e-2)
    val_features, val_labels = reversal_features(net, clips[6:])
    accuracy = probe_accuracy(probe, val_features, val_labels)
    assert 0.0 <= accuracy <= 1.0 and len(val_labels) == 4
    for label in (0, 1):
        heat = reversal_cam(net, probe, clips[6], label)
        assert heat.shape == raw.shape[1:4]
        assert heat.min() >= 0 and heat.max() <= 1
        # per-frame normalisation: each frame spans [0, 1] unless all-zero
        per_frame_max = heat.flatten(1).amax(1)
        assert torch.all((per_frame_max == 1) | (per_frame_max == 0))
    # class 1 is drawn on the reversed clip
    torch.testing.assert_close(
        reversal_cam(net, probe, clips[7], REVERSED),
        cam(net, probe.weight[1], clips[7].flip(1)))
    whole = cam(net, probe.weight[0], clips[6:], per_frame=False)
    assert whole.shape == (2, *raw.shape[1:4])
    assert torch.all(whole.flatten(1).amax(1) <= 1)
