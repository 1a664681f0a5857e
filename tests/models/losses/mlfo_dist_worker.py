"""Worker of the 2-process MLFO loss test; imports only torch and the loss
files (loaded from their folder as a bare package, so the spawned processes
stay light)."""
from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

WORLD = 2
PER_RANK = 3  # videos per rank
DIMS = 5
STEPS = 4  # time steps of the timestamp features
PROTOTYPES = 6
QUEUE = 8  # rows of the score queue (>= the global batch: 'reference' rows)
#: (gather_grad, queue_rows) of each run: the defaults, and the released
#: code's (the published configs').
MODES = dict(exact=('exact', 'extra'), reference=('reference', 'reference'))
LOSSES_DIR = (Path(__file__).resolve().parents[3] / 'mmcmd' / 'models' /
              'losses')


def load_mlfo_losses():
    """mlfo_losses.py (and info_nce.py) without the package __init__."""
    name = '_mlfo_bare_losses'
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(LOSSES_DIR)]
        sys.modules[name] = package
    return importlib.import_module(f'{name}.mlfo_losses')


def full_inputs():
    """Inputs of the whole batch (WORLD * PER_RANK videos) and the queue."""
    g = torch.Generator().manual_seed(15)
    n = WORLD * PER_RANK

    def unit(*shape):
        return F.normalize(torch.randn(*shape, generator=g,
                                       dtype=torch.float64), dim=-1)
    return dict(
        z1=unit(n, DIMS), z2=unit(n, DIMS), r1=unit(n, DIMS),
        r2=unit(n, DIMS),
        f1=torch.randn(n, DIMS, STEPS, generator=g, dtype=torch.float64),
        f2=torch.randn(n, DIMS, STEPS, generator=g, dtype=torch.float64),
        fg=torch.randn(n, DIMS, STEPS, generator=g, dtype=torch.float64),
        s1=unit(n, DIMS) @ unit(PROTOTYPES, DIMS).t(),
        s2=unit(n, DIMS) @ unit(PROTOTYPES, DIMS).t(),
        queue=torch.randn(QUEUE, 2, PROTOTYPES, generator=g,
                          dtype=torch.float64))


def all_losses(losses, x, offset: int, num_all: int, mode: str = 'exact'):
    """Every MLFO loss of the (local) inputs ``x`` with the switches of
    ``MODES[mode]``; the graph is built from the gathered clip-2 features
    and codes, as the model does."""
    gather_grad, queue_rows = MODES[mode]
    out = dict(
        instance=losses.MLFOInstanceLoss(0.07, gather_grad=gather_grad)(
            x['z1'], x['z2']),
        motion=losses.MLFOMotionContrastLoss(0.07, gather_grad=gather_grad)(
            x['z1'], x['z2'], x['r1'], x['r2']),
        timestamp=losses.MLFOTimestampLoss(0.07)(x['f1'], x['f2'], x['fg']))
    swav, codes, scores = losses.MLFOSwAVLoss(0.1, queue_rows=queue_rows)(
        x['s1'], x['s2'], x['queue'])
    out['swav'] = swav
    labels = codes.sum(1).argmax(1)
    z2_all, _ = losses.gather_with_grad(x['z2'].detach())
    n = x['z1'].shape[0]
    graph = losses.similarity_graph(x['z1'].detach(), z2_all,
                                    labels[offset:offset + n], labels,
                                    offset, 0.07, 0.05)
    out['graph'] = losses.MLFOGraphLoss(0.07, gather_grad=gather_grad)(
        x['r1'], x['r2'], graph)
    return out, scores


def worker(rank: int, init_file: str, out_dir: str) -> None:
    """One rank: its slice of every input; saves, per mode of ``MODES``,
    the losses and the gradients of each loss w.r.t. the local inputs."""
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        losses = load_mlfo_losses()
        rows = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
        out = {}
        for mode in MODES:
            x = {k: (v if k == 'queue' else v[rows].clone().requires_grad_())
                 for k, v in full_inputs().items()}
            values, scores = all_losses(losses, x, rank * PER_RANK,
                                        WORLD * PER_RANK, mode)
            result = out[mode] = dict(scores=scores)
            for name, value in values.items():
                grads = torch.autograd.grad(
                    value, [v for k, v in x.items() if k != 'queue'],
                    allow_unused=True)
                result[name] = value.detach()
                for key, grad in zip([k for k in x if k != 'queue'], grads):
                    if grad is not None:
                        result[f'{name}/{key}'] = grad
        torch.save(out, os.path.join(out_dir, f'{rank}.pt'))
    finally:
        dist.destroy_process_group()
