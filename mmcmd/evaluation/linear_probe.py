"""The linear probe: multinomial logistic regression on frozen features.

One definition serves every probe of the project: the scene-bias demo's
linear and unbiased probes (``tools/demo.py``) and the temporal-reversal
probe of the class activation maps (:mod:`mmcmd.visualization.cam`).

The objective, over M rows ``x_i`` with labels ``y_i``::

    L(W, b) = mean_i CE(W x_i + b, y_i) + weight_decay / 2 * ||W||^2

(the bias is not penalised; ``weight_decay`` is meant as in torch's
optimisers: the penalty's gradient is ``weight_decay * W``). Features may
first be standardised with the mean and standard deviation of the training
rows. The default solver is full-batch L-BFGS with a strong-Wolfe line
search, deterministic from a zero start; ``'adam'`` is MLFO's mini-batch
recipe. Everything runs on the CPU with one thread: the problems are tiny
and thread hand-offs cost more than the work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

#: solvers of :func:`fit_linear_probe`.
SOLVERS = ('lbfgs', 'adam')


@dataclass
class LinearProbe:
    """A fitted probe: optional standardisation, then a linear layer.

    Attributes:
        linear: the layer (weights (K, C), optional bias), eval mode,
            no gradients.
        mean: (C,) training mean subtracted first, or None.
        std: (C,) training standard deviation divided by next, or None.
    """

    linear: nn.Linear
    mean: Optional[torch.Tensor] = None
    std: Optional[torch.Tensor] = None

    @torch.no_grad()
    def logits(self, features: ArrayLike) -> torch.Tensor:
        """(N, K) logits of (N, C) features."""
        x = torch.as_tensor(features).to(self.linear.weight.dtype)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return self.linear(x)

    def predict(self, features: ArrayLike) -> torch.Tensor:
        """(N,) arg-max classes of (N, C) features."""
        return self.logits(features).argmax(dim=1)

    def accuracy(self, features: ArrayLike, labels: ArrayLike) -> float:
        """Share of rows whose arg-max class is the label, in [0, 1]."""
        labels = torch.as_tensor(np.asarray(labels)).long()
        if len(labels) == 0:
            raise ValueError('no features to score')
        return (self.predict(features) == labels).double().mean().item()


def fit_linear_probe(features: ArrayLike, labels: ArrayLike,
                     num_classes: Optional[int] = None, *,
                     weight_decay: float = 1e-3, bias: bool = True,
                     standardize: bool = True, init: str = 'zeros',
                     seed: Optional[int] = 0,
                     dtype: torch.dtype = torch.float64,
                     solver: str = 'lbfgs', max_iter: int = 300,
                     tolerance_grad: float = 1e-7,
                     tolerance_change: float = 1e-9,
                     history_size: int = 100, epochs: int = 50,
                     lr: float = 1e-3, batch_size: int = 256,
                     milestones: Sequence[int] = (30, )) -> LinearProbe:
    """Fit a linear probe on fixed features (see the module docstring).

    Args:
        features: (M, C) training features.
        labels: (M,) integer labels in [0, num_classes).
        num_classes: outputs K; default the largest label + 1.
        weight_decay: penalty ``weight_decay / 2 * ||W||^2``.
        bias: fit a bias (never penalised).
        standardize: standardise the features with the training mean and
            (unbiased) standard deviation first, clamped at 1e-8.
        init: ``'zeros'`` (deterministic) or ``'uniform'`` (nn.Linear's
            range +-1/sqrt(C), drawn from a generator seeded by ``seed``).
        seed: seeds the uniform init and Adam's shuffling (None: drawn
            from the global generator).
        dtype: arithmetic of the fit and of the probe.
        solver: ``'lbfgs'`` (full batch, to convergence) or ``'adam'``
            (MLFO's recipe: shuffled mini-batches, ``lr`` x 0.1 at each
            epoch of ``milestones``; made for large training sets).
        max_iter: L-BFGS iterations at most.
        tolerance_grad: L-BFGS stops when the gradient's largest entry is
            below it.
        tolerance_change: L-BFGS stops when a step changes the loss or the
            parameters less than this.
        history_size: L-BFGS memory.
        epochs: Adam passes over the features.
        lr: Adam learning rate.
        batch_size: Adam rows per step.
        milestones: Adam epochs after which the rate drops tenfold.

    Returns:
        The fitted :class:`LinearProbe`.

    Raises:
        ValueError: features and labels do not match, or an unknown
            ``solver`` / ``init``.
    """
    x = torch.as_tensor(np.asarray(features) if not isinstance(
        features, torch.Tensor) else features).detach().cpu().to(dtype)
    y = torch.as_tensor(np.asarray(labels)).detach().cpu().long()
    if x.dim() != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f'features (M, C) and labels (M,) expected, got '
                         f'{tuple(x.shape)} and {tuple(y.shape)}')
    if solver not in SOLVERS:
        raise ValueError(f'solver must be one of {SOLVERS}, got {solver!r}')
    if init not in ('zeros', 'uniform'):
        raise ValueError(f"init must be 'zeros' or 'uniform', got {init!r}")
    classes = int(num_classes if num_classes is not None
                  else int(y.max()) + 1)
    mean = std = None
    if standardize:
        mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
        x = (x - mean) / std
    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else
                          int(torch.randint(2**31, ())))
    # skip_init: no draw from the global generator for a discarded init.
    linear = nn.utils.skip_init(nn.Linear, x.shape[1], classes, bias=bias,
                                dtype=dtype)
    with torch.no_grad():
        if init == 'uniform':
            bound = 1 / x.shape[1] ** 0.5
            linear.weight.uniform_(-bound, bound, generator=generator)
        else:
            linear.weight.zero_()
        if bias:
            linear.bias.zero_()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if solver == 'lbfgs':
            _lbfgs(linear, x, y, weight_decay, max_iter, tolerance_grad,
                   tolerance_change, history_size)
        else:
            _adam(linear, x, y, weight_decay, epochs, lr, batch_size,
                  milestones, generator)
    finally:
        torch.set_num_threads(threads)
    return LinearProbe(linear.eval().requires_grad_(False), mean, std)


def probe_loss(linear: nn.Linear, x: torch.Tensor, y: torch.Tensor,
               weight_decay: float) -> torch.Tensor:
    """The objective: mean cross-entropy plus ``weight_decay / 2`` times
    the squared weights."""
    return F.cross_entropy(linear(x), y) + (
        0.5 * weight_decay * linear.weight.pow(2).sum())


def _lbfgs(linear: nn.Linear, x: torch.Tensor, y: torch.Tensor,
           weight_decay: float, max_iter: int, tolerance_grad: float,
           tolerance_change: float, history_size: int) -> None:
    """Minimise :func:`probe_loss` over the whole set with L-BFGS."""
    optimizer = torch.optim.LBFGS(
        linear.parameters(), lr=1, max_iter=max_iter,
        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
        history_size=history_size, line_search_fn='strong_wolfe')

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = probe_loss(linear, x, y, weight_decay)
        loss.backward()
        return loss

    optimizer.step(closure)


def _adam(linear: nn.Linear, x: torch.Tensor, y: torch.Tensor,
          weight_decay: float, epochs: int, lr: float, batch_size: int,
          milestones: Sequence[int], generator: torch.Generator) -> None:
    """MLFO's recipe: Adam (its ``weight_decay``), shuffled mini-batches,
    the rate x 0.1 at each milestone epoch."""
    optimizer = torch.optim.Adam(linear.parameters(), lr=lr,
                                 weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, list(milestones), gamma=0.1)
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        for rows in order.split(batch_size):
            loss = F.cross_entropy(linear(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()


def linear_probe_accuracy(train_x: ArrayLike, train_y: ArrayLike,
                          test_x: ArrayLike, test_y: ArrayLike,
                          weight_decay: float = 2e-3, max_iter: int = 300
                          ) -> float:
    """Top-1 accuracy (0..1) on ``test_x`` of a probe fitted on
    ``train_x``: standardised features, a bias, float64, L-BFGS from zeros
    (the scene-bias demo's read-out; its default penalty is
    ``1e-3 * ||W||^2``).

    Args:
        train_x: (N, C) training features.
        train_y: (N,) their labels.
        test_x: (M, C) test features.
        test_y: (M,) their labels.
        weight_decay: see :func:`fit_linear_probe`.
        max_iter: L-BFGS iterations at most.

    Returns:
        The share of test rows classified correctly.
    """
    classes = int(max(int(np.max(train_y)), int(np.max(test_y))) + 1)
    probe = fit_linear_probe(train_x, train_y, classes,
                             weight_decay=weight_decay, max_iter=max_iter)
    return probe.accuracy(test_x, test_y)
