"""Worker of the 2-process DSM loss tests (queue InfoNCE and triplet)."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.nn.functional as F

WORLD = 2
PER_RANK = 3
DIMS = 4
QUEUE = 8  # smaller than two steps of keys: the second step wraps around
TAU = 0.07


def features(rank: int, step: int):
    """Fixed per-rank unit (query, key, negative), each (3, 4)."""
    g = torch.Generator().manual_seed(1000 * step + 10 * rank)
    return tuple(F.normalize(torch.randn(PER_RANK, DIMS, generator=g), dim=1)
                 for _ in range(3))


def new_queue_loss():
    """DSMQueueInfoNCE with the same initial queue in every process."""
    from mmcmd.models.losses.dsm_losses import DSMQueueInfoNCE
    torch.manual_seed(7)
    return DSMQueueInfoNCE(DIMS, QUEUE, TAU)


def worker(rank: int, init_file: str, out_dir: str) -> None:
    """Two steps of the queue loss and one triplet loss on this rank's
    features; saves losses, gradients and the final queue."""
    from mmcmd.models.losses.dsm_losses import DSMTripletLoss
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        out = {}
        contrast = new_queue_loss()
        for step in range(2):
            q, k, n = (t.requires_grad_(True) for t in features(rank, step))
            loss, _ = contrast(q, k, n)
            loss.backward()
            out[f'loss{step}'] = loss.detach()
            out[f'q_grad{step}'], out[f'n_grad{step}'] = q.grad, n.grad
        out['queue'], out['ptr'] = contrast.queue, contrast.queue_ptr
        q, k, n = (t.requires_grad_(True) for t in features(rank, 5))
        loss = DSMTripletLoss(0.5, 2.0, 1.0)(q, k, n)
        loss.backward()
        out['triplet'] = loss.detach()
        out['grads'] = torch.stack([q.grad, k.grad, n.grad])
        torch.save(out, os.path.join(out_dir, f'{rank}.pt'))
    finally:
        dist.destroy_process_group()
