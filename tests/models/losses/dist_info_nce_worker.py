"""Worker of the 2-process InfoNCE test; imports only torch and info_nce.py.

Loading ``mmcmd/models/losses/info_nce.py`` by path keeps each spawned
process from importing the whole plugin (mmaction, mmengine), which would
dominate the test time.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

WORLD = 2
PER_RANK_QUERIES = 3
PER_RANK_KEYS = 5  # 3 positives + 2 extra negatives per rank
DIMS = 4
TAU = 0.1
INFO_NCE_FILE = (Path(__file__).resolve().parents[3] / 'mmcmd' / 'models' /
                 'losses' / 'info_nce.py')


def load_info_nce():
    """The info_nce module, loaded from its file."""
    spec = importlib.util.spec_from_file_location('_cmd_info_nce',
                                                  INFO_NCE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def features(rank: int):
    """Fixed per-rank queries (3, 4) and keys (5, 4): positives first."""
    g = torch.Generator().manual_seed(100 + rank)
    q = F.normalize(torch.randn(PER_RANK_QUERIES, DIMS, generator=g), dim=1)
    k = F.normalize(torch.randn(PER_RANK_KEYS, DIMS, generator=g), dim=1)
    return q, k


def worker(rank: int, init_file: str, out_dir: str) -> None:
    """One rank: gathered InfoNCE on its features; saves loss and grads."""
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        q, k = features(rank)
        q.requires_grad_(True)
        k.requires_grad_(True)
        loss, acc = load_info_nce().GatheredInfoNCE(TAU)(q, k)
        loss.backward()
        torch.save(dict(loss=loss.detach(), acc=acc, q_grad=q.grad,
                        k_grad=k.grad), os.path.join(out_dir, f'{rank}.pt'))
    finally:
        dist.destroy_process_group()
