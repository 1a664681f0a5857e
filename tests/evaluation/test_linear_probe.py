"""mmcmd.evaluation.linear_probe against hand-written references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcmd.evaluation.linear_probe import (
    LinearProbe,
    fit_linear_probe,
    linear_probe_accuracy,
)


def _clusters(seed: int, train: int = 30, test: int = 10):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, 16)) * 4
    labels = np.repeat(np.arange(5), train)
    test_labels = np.repeat(np.arange(5), test)
    return (centres[labels] + rng.normal(size=(len(labels), 16)), labels,
            centres[test_labels] + rng.normal(size=(len(test_labels), 16)),
            test_labels, rng)


def reference_gradient(x: np.ndarray, y: np.ndarray, weight: np.ndarray,
                       bias: np.ndarray, weight_decay: float):
    """Gradient of mean CE + wd/2 ||W||^2, row by row with explicit
    softmax sums."""
    grad_w, grad_b = np.zeros_like(weight), np.zeros_like(bias)
    for row, label in zip(x, y):
        logits = [float(np.dot(w, row)) + b for w, b in zip(weight, bias)]
        top = max(logits)
        exps = [np.exp(v - top) for v in logits]
        for k, e in enumerate(exps):
            error = e / sum(exps) - (k == label)
            grad_w[k] += error * row / len(y)
            grad_b[k] += error / len(y)
    return grad_w + weight_decay * weight, grad_b


def test_separable_clusters_reach_100_percent_and_noise_does_not():
    x, y, test_x, test_y, rng = _clusters(0)
    assert linear_probe_accuracy(x, y, test_x, test_y) == 1.0
    noise = linear_probe_accuracy(rng.normal(size=x.shape), y,
                                  rng.normal(size=test_x.shape), test_y)
    assert noise < 0.5


def test_fit_reaches_the_minimum_of_the_stated_objective():
    """At the L-BFGS result the hand-computed gradient of the objective
    (on the standardised features) vanishes: it is the minimiser."""
    x, y, _, _, _ = _clusters(1, train=8)
    probe = fit_linear_probe(x, y, weight_decay=0.1)
    z = (x - probe.mean.numpy()) / probe.std.numpy()
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0, ddof=1), 1, rtol=1e-12)
    grad_w, grad_b = reference_gradient(
        z, y, probe.linear.weight.numpy(), probe.linear.bias.numpy(), 0.1)
    assert np.abs(grad_w).max() < 1e-5 and np.abs(grad_b).max() < 1e-5
    # Its predictions are the arg-max of W z + b.
    logits = z @ probe.linear.weight.numpy().T + probe.linear.bias.numpy()
    assert probe.predict(x).tolist() == logits.argmax(1).tolist()
    assert probe.accuracy(x, y) == pytest.approx(
        np.mean(logits.argmax(1) == y))


def test_probe_follows_the_shortcut_it_is_trained_on():
    """A 'scene' feature that predicts the train labels but not the swapped
    test labels makes the probe fail as a scene classifier would."""
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 40)
    scene = np.eye(4)[labels] * 5 + rng.normal(size=(160, 4)) * 0.1
    test_labels = np.repeat(np.arange(4), 10)
    swapped = np.eye(4)[(test_labels + 1) % 4] * 5
    assert linear_probe_accuracy(scene, labels, swapped, test_labels) == 0.0


def test_options_bias_free_float32_uniform_and_errors():
    x, y, _, _, _ = _clusters(2, train=6)
    first = fit_linear_probe(torch.from_numpy(x), torch.from_numpy(y), 7,
                             bias=False, standardize=False, init='uniform',
                             dtype=torch.float32, seed=3)
    again = fit_linear_probe(x, y, 7, bias=False, standardize=False,
                             init='uniform', dtype=torch.float32, seed=3)
    assert isinstance(first, LinearProbe) and first.mean is None
    assert first.linear.bias is None
    assert first.linear.weight.shape == (7, 16)
    assert first.linear.weight.dtype == torch.float32
    assert not first.linear.weight.requires_grad
    assert torch.equal(first.linear.weight, again.linear.weight)
    with pytest.raises(ValueError, match='solver'):
        fit_linear_probe(x, y, solver='sgd')
    with pytest.raises(ValueError, match='init'):
        fit_linear_probe(x, y, init='normal')
    with pytest.raises(ValueError, match=r'\(M, C\)'):
        fit_linear_probe(x, y[:-1])
    with pytest.raises(ValueError, match='no features'):
        first.accuracy(x[:0], y[:0])
