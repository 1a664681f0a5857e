"""Projection necks: clip map (or pooled vector) -> embedding."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch import nn

from ..utils import Features, pooled_vector


@MODELS.register_module()
class ProjectionMLP(nn.Sequential):
    """CMD's projection: 1x1 conv -> BN -> ReLU -> 1x1 conv (no bias) -> BN;
    (N, C_in) -> (N, C_out), optionally L2-normalised.

    Backbone outputs or a clip map are globally average-pooled first (the
    final map of a tuple), so the neck can follow the clip-map neck
    directly. Indices 0, 1, 3, 4 hold the parameters, as in the official
    checkpoint's ``*_head.{0,1,3,4}`` keys (Conv1d weights of shape (out,
    in, 1)).

    Args:
        in_channels: input feature channels.
        hidden_channels: width of the hidden layer.
        out_channels: output channels.
        normalize: L2-normalise the output rows.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 2048,
                 out_channels: int = 512, normalize: bool = True) -> None:
        super().__init__(
            nn.Conv1d(in_channels, hidden_channels, 1),
            nn.BatchNorm1d(hidden_channels),
            nn.ReLU(inplace=True),
            nn.Conv1d(hidden_channels, out_channels, 1, bias=False),
            nn.BatchNorm1d(out_channels))
        self.normalize = normalize

    def forward(self, x: Features) -> torch.Tensor:
        """Project (N, C_in) features (or pooled maps) to (N, C_out)."""
        out = super().forward(pooled_vector(x).unsqueeze(-1)).squeeze(-1)
        return F.normalize(out, p=2, dim=1) if self.normalize else out

    def reset_parameters(self) -> None:
        """Kaiming fan_out for the convs, identity BN."""
        for m in self:
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


@MODELS.register_module()
class LinearProjection(nn.Module):
    """DSM's projection: global average pool, ``Linear(C, D)`` (PyTorch
    default init), L2 norm; (N, C, ...) maps, backbone outputs (the final
    map) or (N, C) vectors -> (N, D).

    Args:
        in_channels: C.
        out_channels: D.
        normalize: L2-normalise the output rows.
    """

    def __init__(self, in_channels: int, out_channels: int = 128,
                 normalize: bool = True) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels)
        self.normalize = normalize

    def forward(self, x: Features) -> torch.Tensor:
        """(N, C[, ...]) -> (N, D)."""
        out = self.fc(pooled_vector(x))
        return F.normalize(out, dim=1) if self.normalize else out
