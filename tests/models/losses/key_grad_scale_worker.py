"""Worker of the 2-process key-gradient test; imports only torch and
info_nce.py (loaded by path, so the spawned processes stay light)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

WORLD = 2
PER_RANK = 3  # queries per rank; each has its positive key
EXTRA_KEYS = 2  # extra negative keys per rank, after the positives
DIMS = 4
TAU = 0.1
INFO_NCE_FILE = (Path(__file__).resolve().parents[3] / 'mmcmd' / 'models' /
                 'losses' / 'info_nce.py')


def load_info_nce():
    """The info_nce module, loaded from its file."""
    spec = importlib.util.spec_from_file_location('_key_scale_info_nce',
                                                  INFO_NCE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TwoEncoders(nn.Module):
    """A query encoder and a key encoder (one linear layer each)."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.query = nn.Linear(DIMS, DIMS)
        self.key = nn.Linear(DIMS, DIMS)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g))

    def forward(self, xq: torch.Tensor, xk: torch.Tensor):
        return (F.normalize(self.query(xq), dim=1),
                F.normalize(self.key(xk), dim=1))


def inputs(rank: int):
    """Fixed per-rank query inputs (3, 4) and key inputs (5, 4)."""
    g = torch.Generator().manual_seed(200 + rank)
    return (torch.randn(PER_RANK, DIMS, generator=g),
            torch.randn(PER_RANK + EXTRA_KEYS, DIMS, generator=g))


def worker(rank: int, init_file: str, out_dir: str) -> None:
    """One rank: DDP over both encoders, one backward per mode; saves the
    averaged parameter gradients and the loss."""
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        losses = load_info_nce()
        out = {}
        for mode in ('exact', 'reference'):
            model = DistributedDataParallel(TwoEncoders())
            q, k = model(*inputs(rank))
            loss, _ = losses.GatheredInfoNCE(TAU, key_grad_scale=mode)(q, k)
            loss.backward()
            out[mode] = {name: p.grad.clone()
                         for name, p in model.module.named_parameters()}
            out[f'{mode}_loss'] = loss.detach()
        torch.save(out, os.path.join(out_dir, f'{rank}.pt'))
    finally:
        dist.destroy_process_group()
