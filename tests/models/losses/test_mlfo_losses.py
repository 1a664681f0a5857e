"""MLFO's losses against brute-force references written with loops, and 2
gloo processes against 1 process on the whole batch."""
from __future__ import annotations

import math

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from mlfo_dist_worker import PER_RANK, WORLD, all_losses, full_inputs, worker

from mmcmd.models import losses as losses_module
from mmcmd.models.losses import (
    MLFOGraphLoss,
    MLFOInstanceLoss,
    MLFOMotionContrastLoss,
    MLFOSwAVLoss,
    MLFOTimestampLoss,
    build_loss,
    mlfo_losses,
)
from mmcmd.models.losses.mlfo_losses import similarity_graph, sinkhorn_knopp


def dot(a, b) -> float:
    return sum(float(x) * float(y) for x, y in zip(a, b))


def neg_log_share(positive: float, others) -> float:
    """-log(exp(positive) / (exp(positive) + sum exp(others)))."""
    return -positive + math.log(math.exp(positive)
                                + sum(math.exp(v) for v in others))


def unit(*shape, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64),
                       dim=-1)


def test_instance_loss_equals_brute_force():
    z1, z2 = unit(4, 3, seed=0), unit(4, 3, seed=1)
    tau = 0.07
    total = 0.0
    clips = [z1, z2]
    for view in range(2):
        for i in range(4):
            anchor = clips[view][i]
            positive = dot(anchor, clips[1 - view][i]) / tau
            negatives = [dot(anchor, clips[v][j]) / tau
                         for v in range(2) for j in range(4) if j != i]
            total += neg_log_share(positive, negatives)
    loss = MLFOInstanceLoss(tau, loss_weight=2.0)(z1, z2)
    assert loss.item() == pytest.approx(2.0 * total / 8, rel=1e-9)


def test_motion_loss_has_the_reversed_clips_as_extra_negatives():
    m1, m2 = unit(3, 4, seed=2), unit(3, 4, seed=3)
    r1, r2 = unit(3, 4, seed=4), unit(3, 4, seed=5)
    tau = 0.07
    total = 0.0
    normal, rev = [m1, m2], [r1, r2]
    for view in range(2):
        for i in range(3):
            anchor = normal[view][i]
            positive = dot(anchor, normal[1 - view][i]) / tau
            negatives = [dot(anchor, normal[v][j]) / tau
                         for v in range(2) for j in range(3) if j != i]
            negatives += [dot(anchor, rev[v][i]) / tau for v in range(2)]
            total += neg_log_share(positive, negatives)
    loss = MLFOMotionContrastLoss(tau)(m1, m2, r1, r2)
    assert loss.item() == pytest.approx(total / 6, rel=1e-9)
    # without the reversed negatives it is the instance loss (smaller)
    assert loss.item() > MLFOInstanceLoss(tau)(m1, m2).item()


def test_timestamp_loss_equals_brute_force():
    g = torch.Generator().manual_seed(6)
    n, d, t = 2, 3, 4
    f1, f2, fg = (torch.randn(n, d, t, generator=g, dtype=torch.float64)
                  for _ in range(3))
    tau = 0.07

    def normalised(v):
        norm = math.sqrt(sum(x * x for x in v))
        return [x / norm for x in v]

    total = 0.0
    for i in range(n):
        local = []
        for clip in (f1, f2):  # t steps -> t/2 by averaging step pairs
            for k in range(t // 2):
                local.append(normalised(
                    [(float(clip[i, c, 2 * k]) + float(clip[i, c, 2 * k + 1]))
                     / 2 for c in range(d)]))
        glob = [normalised([float(fg[i, c, k]) for c in range(d)])
                for k in range(t)]
        sim = [[dot(local[a], glob[b]) / tau for b in range(t)]
               for a in range(t)]
        for k in range(t):
            row = [sim[k][b] for b in range(t) if b != k]
            col = [sim[a][k] for a in range(t) if a != k]
            total += (neg_log_share(sim[k][k], row)
                      + neg_log_share(sim[k][k], col)) / 2
    loss = MLFOTimestampLoss(tau)(f1, f2, fg)
    assert loss.item() == pytest.approx(total / (n * t), rel=1e-9)
    with pytest.raises(ValueError, match='even'):
        MLFOTimestampLoss()(f1[..., :1], f2[..., :1], fg[..., :1])


def plain_sinkhorn(scores, eps, iterations):
    """Sinkhorn-Knopp on nested lists, one loop per sum."""
    b, k = len(scores), len(scores[0])
    q = [[math.exp(scores[i][j] / eps) for i in range(b)] for j in range(k)]
    total = sum(sum(row) for row in q)
    q = [[v / total for v in row] for row in q]
    for _ in range(iterations):
        for j in range(k):
            row_sum = sum(q[j])
            q[j] = [v / row_sum / k for v in q[j]]
        for i in range(b):
            col_sum = sum(q[j][i] for j in range(k))
            for j in range(k):
                q[j][i] = q[j][i] / col_sum / b
    return [[q[j][i] * b for j in range(k)] for i in range(b)]


def test_sinkhorn_equals_a_plain_loop_implementation():
    scores = unit(7, 4, seed=7) @ unit(5, 4, seed=8).t()
    codes = sinkhorn_knopp(scores, epsilon=0.05, iterations=3)
    expected = torch.tensor(plain_sinkhorn(scores.tolist(), 0.05, 3),
                            dtype=torch.float64)
    torch.testing.assert_close(codes, expected, rtol=1e-9, atol=1e-12)
    # each sample's code is a distribution; with enough iterations the
    # prototypes are shared evenly (7 samples / 5 prototypes each)
    torch.testing.assert_close(codes.sum(1), torch.ones(7, dtype=codes.dtype))
    converged = sinkhorn_knopp(scores, epsilon=0.5, iterations=100)
    torch.testing.assert_close(converged.sum(0),
                               torch.full((5, ), 7 / 5, dtype=codes.dtype))


def swav_brute_force(s1, s2, queue, tau, eps):
    rows1 = ([] if queue is None else queue[:, 0].tolist()) + s1.tolist()
    rows2 = ([] if queue is None else queue[:, 1].tolist()) + s2.tolist()
    q1 = plain_sinkhorn(rows1, eps, 3)[-len(s1):]
    q2 = plain_sinkhorn(rows2, eps, 3)[-len(s1):]
    total = 0.0
    for i in range(len(s1)):
        for codes, logits in ((q2[i], s1[i]), (q1[i], s2[i])):
            values = [float(v) / tau for v in logits]
            log_z = math.log(sum(math.exp(v) for v in values))
            total += sum(c * (v - log_z) for c, v in zip(codes, values))
    return -0.5 * total / len(s1), q1, q2


@pytest.mark.parametrize('with_queue', [False, True])
def test_swav_loss_equals_brute_force(with_queue):
    s1 = unit(4, 3, seed=9) @ unit(6, 3, seed=10).t()
    s2 = unit(4, 3, seed=11) @ unit(6, 3, seed=10).t()
    queue = (torch.randn(5, 2, 6, generator=torch.Generator().manual_seed(1),
                         dtype=torch.float64) if with_queue else None)
    loss, codes, scores = MLFOSwAVLoss(0.1, 0.05, 3, loss_weight=0.5)(
        s1, s2, queue)
    expected, q1, q2 = swav_brute_force(s1, s2, queue, 0.1, 0.05)
    assert loss.item() == pytest.approx(0.5 * expected, rel=1e-9)
    torch.testing.assert_close(codes[:, 0], torch.tensor(q1).to(codes))
    torch.testing.assert_close(codes[:, 1], torch.tensor(q2).to(codes))
    torch.testing.assert_close(scores, torch.stack([s1, s2], 1))


def test_similarity_graph_and_graph_loss_equal_brute_force():
    z1, z2 = unit(5, 3, seed=12), unit(5, 3, seed=13)
    labels = torch.tensor([0, 1, 0, 2, 0])
    tau, thres = 0.5, 0.15
    graph = similarity_graph(z1, z2, labels, labels, 0, tau, thres)
    for i in range(5):
        logits = [dot(z1[i], z2[j]) / tau for j in range(5)]
        z = sum(math.exp(v) for v in logits)
        row = []
        for j in range(5):
            p = math.exp(logits[j]) / z
            kept = p if (p >= thres or i == j) else 0.0
            row.append(kept * (labels[i] == labels[j]).item())
        expected = [v / sum(row) for v in row]
        assert graph[i].tolist() == pytest.approx(expected, rel=1e-9)
    assert (graph.diagonal() > 0).all()
    # the threshold and the labels both removed entries
    assert ((graph == 0) & (labels[:, None] == labels[None, :])).any()

    g1, g2 = unit(5, 4, seed=14), unit(5, 4, seed=15)
    total = 0.0
    for i in range(5):
        logits = [dot(g1[i], g2[j]) / 0.07 for j in range(5)]
        log_z = math.log(sum(math.exp(v) for v in logits))
        total += sum(-float(graph[i, j]) * (logits[j] - log_z)
                     for j in range(5))
    loss = MLFOGraphLoss(0.07, loss_weight=0.3)(g1, g2, graph)
    assert loss.item() == pytest.approx(0.3 * total / 25, rel=1e-9)


def test_losses_are_registered():
    for name in ('MLFOInstanceLoss', 'MLFOMotionContrastLoss',
                 'MLFOTimestampLoss', 'MLFOSwAVLoss', 'MLFOGraphLoss'):
        loss = build_loss(dict(type=name, loss_weight=0.25))
        assert type(loss) is getattr(losses_module, name)
        assert loss.loss_weight == 0.25


def test_two_processes_equal_one_process_on_the_whole_batch(tmp_path):
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path)),
             nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f'{r}.pt', weights_only=True)
             for r in range(WORLD)]
    x = {k: (v if k == 'queue' else v.clone().requires_grad_())
         for k, v in full_inputs().items()}
    values, scores = all_losses(mlfo_losses, x, 0, WORLD * PER_RANK)
    # the graph of these inputs links videos of different ranks
    codes = mlfo_losses.MLFOSwAVLoss(0.1)(x['s1'], x['s2'], x['queue'])[1]
    labels = codes.sum(1).argmax(1)
    graph = similarity_graph(x['z1'], x['z2'], labels, labels, 0)
    assert (graph[:PER_RANK, PER_RANK:] > 0.01).any()
    assert (graph[PER_RANK:, :PER_RANK] > 0.01).any()
    for rank in ranks:  # every rank saw the whole batch's scores
        torch.testing.assert_close(rank['scores'], scores)
    for name, value in values.items():
        # DDP averages over ranks: the mean of the rank losses and
        # gradients / WORLD equal the one-process loss and gradients
        mean = sum(rank[name] for rank in ranks) / WORLD
        assert mean.item() == pytest.approx(value.item(), rel=1e-9), name
        keys = [k for k in x if k != 'queue']
        grads = torch.autograd.grad(value, [x[k] for k in keys],
                                    allow_unused=True)
        for key, grad in zip(keys, grads):
            if grad is None:
                assert all(f'{name}/{key}' not in r for r in ranks)
                continue
            for r, rank in enumerate(ranks):
                rows = slice(r * PER_RANK, (r + 1) * PER_RANK)
                torch.testing.assert_close(rank[f'{name}/{key}'] / WORLD,
                                           grad[rows], msg=f'{name}/{key}')
