"""InfoNCE against a brute-force reference, and gathered keys across ranks."""
from __future__ import annotations

import math

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from dist_info_nce_worker import (
    PER_RANK_KEYS,
    PER_RANK_QUERIES,
    TAU,
    WORLD,
    features,
    worker,
)

from mmcmd.models.losses import GatheredInfoNCE, gather_with_grad, info_nce


def _brute_force(query, keys, labels, tau):
    """Mean over queries of -log softmax at the positive, with python loops."""
    total = 0.0
    for i in range(len(query)):
        logits = [sum(float(query[i][c]) * float(keys[j][c])
                      for c in range(len(query[i]))) / tau
                  for j in range(len(keys))]
        top = max(logits)
        log_denominator = top + math.log(sum(math.exp(v - top) for v in logits))
        total += log_denominator - logits[int(labels[i])]
    return total / len(query)


def test_info_nce_equals_brute_force():
    g = torch.Generator().manual_seed(0)
    query = F.normalize(torch.randn(4, 3, generator=g), dim=1)
    keys = F.normalize(torch.randn(7, 3, generator=g), dim=1)
    labels = torch.tensor([0, 3, 6, 2])
    loss, acc = info_nce(query, keys, labels, temperature=0.1)
    assert loss.item() == pytest.approx(
        _brute_force(query.tolist(), keys.tolist(), labels.tolist(), 0.1),
        rel=1e-5)
    best = (query @ keys.t()).argmax(1)
    assert acc.item() == pytest.approx((best == labels).float().mean().item())


def test_gather_without_process_group_is_identity():
    x = torch.randn(3, 2, requires_grad=True)
    gathered, offset = gather_with_grad(x)
    assert gathered is x and offset == 0
    loss, _ = GatheredInfoNCE(0.5)(x, torch.randn(4, 2))
    assert loss.requires_grad


def test_two_processes_equal_one_process_on_the_whole_batch(tmp_path):
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path)),
             nprocs=WORLD, join=True)
    results = [torch.load(tmp_path / f'{r}.pt', weights_only=True)
               for r in range(WORLD)]
    # One process, concatenated batch: every key of every rank; the positive
    # of query i of rank r is key i of rank r.
    feats = [features(r) for r in range(WORLD)]
    q = torch.cat([f[0] for f in feats]).requires_grad_(True)
    k = torch.cat([f[1] for f in feats]).requires_grad_(True)
    labels = torch.cat([torch.arange(PER_RANK_QUERIES) + r * PER_RANK_KEYS
                        for r in range(WORLD)])
    loss, acc = info_nce(q, k, labels, TAU)
    loss.backward()
    mean_loss = sum(r['loss'] for r in results) / WORLD
    assert mean_loss.item() == pytest.approx(loss.item(), rel=1e-6)
    assert (sum(r['acc'] for r in results) / WORLD).item() == pytest.approx(
        acc.item())
    # DDP averages gradients over ranks: rank grads / WORLD == full grads.
    for r in range(WORLD):
        qs = slice(r * PER_RANK_QUERIES, (r + 1) * PER_RANK_QUERIES)
        ks = slice(r * PER_RANK_KEYS, (r + 1) * PER_RANK_KEYS)
        torch.testing.assert_close(results[r]['q_grad'] / WORLD, q.grad[qs])
        torch.testing.assert_close(results[r]['k_grad'] / WORLD, k.grad[ks])
    # The keys' gradients include other ranks' losses (not local-only).
    assert k.grad.abs().sum() > 0


def test_key_groups_and_query_weights_match_brute_force():
    """Interchangeable keys (group >= 0) count once per softmax, dropped keys
    (-2) only as their own positive; weights make a weighted mean."""
    from mmcmd.models.losses import GatheredInfoNCE, group_exclusion
    torch.manual_seed(0)
    query = torch.nn.functional.normalize(torch.randn(4, 5), dim=1)
    keys = torch.nn.functional.normalize(torch.randn(7, 5), dim=1)
    groups = torch.tensor([0, -1, 0, -2, 0, -1, -2])
    weights = torch.tensor([1.0, 0.5, 0.0, 2.0])
    loss, _ = GatheredInfoNCE(temperature=0.2)(query, keys, groups, weights)
    expected, total = 0.0, 0.0
    for i in range(4):
        seen = []
        for j in range(7):
            if j == i:
                seen.append(j)
            elif groups[j] == -2:
                continue
            elif groups[j] >= 0 and (groups[i] == groups[j]
                                     or j != 0):  # key 0: group 0's first
                continue
            else:
                seen.append(j)
        logits = [float(query[i] @ keys[j]) / 0.2 for j in seen]
        norm = math.log(sum(math.exp(v) for v in logits))
        expected += float(weights[i]) * (norm - float(query[i] @ keys[i]) / 0.2)
        total += float(weights[i])
    assert float(loss) == pytest.approx(expected / total, rel=1e-5)
    excluded = group_exclusion(torch.arange(4), groups)
    assert excluded[2].tolist() == [True, False, False, True, True, False,
                                    True]
