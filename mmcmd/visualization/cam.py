"""Temporal-reversal class activation maps (MLFO's visualisation).

A bias-free ``Linear(C, 2)`` probe on the globally pooled features of a
frozen backbone learns to tell a clip (label 0) from its time-reversed copy
(label 1). Its weights of the clip's true class, applied to the last
feature map at every position, give the class map::

    CAM_k(t, y, x) = sum_c w_kc * F_c(t, y, x)

then ReLU, trilinear upsampling to the clip's (T, H, W) and min-max
normalisation (per frame by default, as MLFO draws it). Without a bias and
with an average pool, the mean of the class map before the ReLU equals the
probe's logit of class k. Needs torch and numpy only (and matplotlib for
drawing, through :mod:`mmcmd.visualization.activation`).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from .activation import (
    Backbone,
    as_batch,
    last_map,
    normalise_map,
    upsample_map,
)

#: order labels: the clip as recorded, and played backwards.
NORMAL, REVERSED = 0, 1


def reverse_time(clips: torch.Tensor) -> torch.Tensor:
    """Clips (..., 3, T, H, W) with the frame order reversed."""
    return clips.flip(-3)


@torch.no_grad()
def pooled_features(backbone: Backbone, clips: torch.Tensor,
                    batch_size: int = 8) -> torch.Tensor:
    """(N, C) global averages (over T, H, W) of the backbone's last map
    for (N, 3, T, H, W) clips, ``batch_size`` clips per forward pass."""
    batch, _ = as_batch(clips)
    outs = [last_map(backbone(part)).flatten(2).mean(-1)
            for part in batch.split(batch_size)]
    return torch.cat(outs).float()


def reversal_features(backbone: Backbone, clips: torch.Tensor,
                      batch_size: int = 8
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Features and order labels of clips and their reversed copies.

    Returns:
        features (2N, C): rows 2i (clip i, label 0) and 2i + 1 (clip i
        reversed, label 1), as MLFO's probe batches interleave them;
        labels long (2N,).
    """
    batch, _ = as_batch(clips)
    both = torch.stack([batch, reverse_time(batch)], dim=1).flatten(0, 1)
    labels = torch.tensor([NORMAL, REVERSED] * batch.shape[0])
    return pooled_features(backbone, both, batch_size), labels


def fit_linear_probe(features: torch.Tensor, labels: torch.Tensor,
                     num_classes: int = 2, epochs: int = 50,
                     lr: float = 1e-3, weight_decay: float = 1e-3,
                     batch_size: int = 256,
                     milestones: Sequence[int] = (30, ),
                     seed: Optional[int] = 0, solver: str = 'lbfgs',
                     max_iter: int = 500) -> nn.Linear:
    """Train a bias-free ``Linear(C, num_classes)`` on fixed features.

    The project's one probe (:func:`mmcmd.evaluation.fit_linear_probe`)
    without a bias or standardisation (so that its weights apply to the
    feature map as they are), in float32 from nn.Linear's uniform init:
    cross-entropy plus ``weight_decay`` / 2 x the squared weights, on
    features computed once (the backbone is frozen). ``solver='lbfgs'``
    (default) minimises it over the whole set with L-BFGS to convergence,
    as linear probes usually are. ``solver='adam'`` is MLFO's recipe: Adam
    (``lr``, ``weight_decay``), ``lr`` x 0.1 at each epoch of
    ``milestones``, shuffled mini-batches; it was made for a large training
    set, and on a few hundred clips its few steps leave the probe near its
    random init (a probe at chance on features that do separate the two
    orders).

    Args:
        features: float (M, C).
        labels: long (M,) in [0, num_classes).
        num_classes: outputs of the probe.
        epochs: passes over the features.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        batch_size: rows per step.
        milestones: epochs after which the learning rate drops tenfold.
        seed: seeds the init and the shuffling (None: global RNG).
        solver: ``'lbfgs'`` or ``'adam'``, see above; ``epochs``, ``lr``,
            ``batch_size`` and ``milestones`` apply to ``'adam'`` only.
        max_iter: L-BFGS iterations at most.

    Returns:
        The probe in eval mode (weights (num_classes, C), no bias).
    """
    # Imported here: mmcmd.evaluation registers OpenMMLab modules, which
    # the rest of this module does not need.
    from ..evaluation.linear_probe import fit_linear_probe as fit
    return fit(
        features.float(), labels, num_classes, weight_decay=weight_decay,
        bias=False, standardize=False, init='uniform', seed=seed,
        dtype=torch.float32, solver=solver, max_iter=max_iter,
        tolerance_grad=1e-9, tolerance_change=1e-12, history_size=20,
        epochs=epochs, lr=lr, batch_size=batch_size,
        milestones=milestones).linear


@torch.no_grad()
def probe_accuracy(probe: nn.Module, features: torch.Tensor,
                   labels: torch.Tensor) -> float:
    """Share of rows whose arg-max logit is the label, in [0, 1]."""
    if len(labels) == 0:
        raise ValueError('no features to score')
    predicted = probe(features.float()).argmax(dim=1)
    return (predicted == labels).float().mean().item()


def class_activation_map(feature_map: torch.Tensor,
                         weight: torch.Tensor) -> torch.Tensor:
    """``sum_c weight[c] * feature_map[..., c, t, h, w]``.

    Args:
        feature_map: (C, T, H, W) or (N, C, T, H, W).
        weight: (C,) class weights.

    Returns:
        (T, H, W) or (N, T, H, W) raw class map (no ReLU, no scaling).
    """
    if weight.dim() != 1 or feature_map.shape[-4] != weight.shape[0]:
        raise ValueError(f'weight (C,) must match the channels of the map: '
                         f'{tuple(weight.shape)} vs '
                         f'{tuple(feature_map.shape)}')
    return torch.einsum('...cthw,c->...thw', feature_map, weight.to(
        feature_map.dtype))


@torch.no_grad()
def cam(backbone: Backbone, weight: torch.Tensor, clips: torch.Tensor,
        per_frame: bool = True) -> torch.Tensor:
    """Class activation map of ``weight`` on clips, in [0, 1].

    The class map on the backbone's last map, ReLU, trilinear upsampling to
    (T, H, W), min-max normalisation (per frame, or over the clip).

    Args:
        backbone: frozen clip encoder (eval mode).
        weight: (C,) weights of one class (a probe's row).
        clips: normalised (3, T, H, W) or (N, 3, T, H, W).
        per_frame: normalise each frame on its own (MLFO) or the clip.

    Returns:
        float (T, H, W) or (N, T, H, W).
    """
    batch, single = as_batch(clips)
    raw = class_activation_map(last_map(backbone(batch)), weight)
    heat = upsample_map(raw.clamp_min(0), batch.shape[2:])
    heat = normalise_map(heat, per_frame=per_frame)
    return heat[0] if single else heat


def reversal_cam(backbone: Backbone, probe: nn.Linear, clip: torch.Tensor,
                 label: int, per_frame: bool = True) -> torch.Tensor:
    """CAM (T, H, W) in [0, 1] of the true class of a clip or its reversal.

    ``label`` 0 draws the probe's class 0 on ``clip``; 1 draws class 1 on
    the reversed clip (its frames in reversed order, as they are shown).
    """
    if label not in (NORMAL, REVERSED):
        raise ValueError(f'label must be 0 (normal) or 1 (reversed), got '
                         f'{label}')
    shown = reverse_time(clip) if label == REVERSED else clip
    return cam(backbone, probe.weight[label], shown, per_frame=per_frame)
