"""MLFO's projection necks: the per-level projections and the global one."""
from __future__ import annotations

import torch
from mmaction.registry import MODELS
from torch import nn
from torch.nn import functional as F


def _step_mlp(in_channels: int, out_channels: int) -> nn.Sequential:
    """Conv1d(c, c, 1) - ReLU - Conv1d(c, out, 1): an MLP per time step."""
    return nn.Sequential(nn.Conv1d(in_channels, in_channels, 1),
                         nn.ReLU(inplace=True),
                         nn.Conv1d(in_channels, out_channels, 1))


@MODELS.register_module()
class MLFOLevelProjection(nn.Module):
    """The three projections of one feature level of MLFO.

    Each is ``Conv1d(C, C, 1) - ReLU - Conv1d(C, D, 1)`` applied to every
    time step of a (N, C, t) sequence (PyTorch default init, as released):

    - ``project``: instance (high) or motion (low, mid) contrast; steps
      averaged, then L2-normalised -> (N, D);
    - ``graph``: the graph constraint; same reduction -> (N, D);
    - ``fine``: timestamp matching; steps kept -> (N, D, t), not
      normalised (the loss pools, then normalises).

    Args:
        in_channels: C of the level.
        out_channels: D of the embeddings.
    """

    def __init__(self, in_channels: int, out_channels: int = 128) -> None:
        super().__init__()
        self.project = _step_mlp(in_channels, out_channels)
        self.graph = _step_mlp(in_channels, out_channels)
        self.fine = _step_mlp(in_channels, out_channels)

    def instance(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, t) -> (N, D) normalised ``project`` embedding."""
        return F.normalize(self.project(x).mean(dim=2), dim=1)

    def graph_embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, t) -> (N, D) normalised ``graph`` embedding."""
        return F.normalize(self.graph(x).mean(dim=2), dim=1)

    def fine_steps(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, t) -> (N, D, t) per-step ``fine`` features."""
        return self.fine(x)


@MODELS.register_module()
class MLFOGlobalProjection(nn.Module):
    """Global embedding for the prototypes: temporal mean of the high level,
    then ``Linear(C, H) - BN - ReLU - Linear(H, D)``, L2-normalised.

    Args:
        in_channels: C of the high level.
        hidden_channels: H (C when None).
        out_channels: D.
    """

    def __init__(self, in_channels: int = 512, hidden_channels: int = None,
                 out_channels: int = 128) -> None:
        super().__init__()
        hidden_channels = hidden_channels or in_channels
        self.mlp = nn.Sequential(nn.Linear(in_channels, hidden_channels),
                                 nn.BatchNorm1d(hidden_channels),
                                 nn.ReLU(inplace=True),
                                 nn.Linear(hidden_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, t) or (N, C) -> (N, D) normalised."""
        if x.dim() == 3:
            x = x.mean(dim=2)
        return F.normalize(self.mlp(x), dim=1)
