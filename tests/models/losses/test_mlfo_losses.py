"""MLFO's losses against brute-force references written with loops, and 2
gloo processes against 1 process on the whole batch."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from mlfo_dist_worker import PER_RANK, WORLD, all_losses, full_inputs, worker

from mmcmd.models import losses as losses_module
from mmcmd.models.heads import MLFOSwAVHead
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


def reference_fifo_codes(queue_oldest_first, batches, eps):
    """Clip-1 codes of each batch as the released code computes them: the
    batch is pushed into the L-row queue (oldest rows out, train.py:299-304)
    and Sinkhorn runs over the whole queue (train.py:252-254, 174-175); the
    last M rows are the batch's."""
    queue = [list(row) for row in queue_oldest_first]
    out = []
    for batch in batches:
        queue = queue[len(batch):] + batch.tolist()
        out.append(plain_sinkhorn(queue, eps, 3)[-len(batch):])
    return out


def test_swav_queue_rows_reference_equals_the_released_fifo():
    # L = 5 queue rows, M = 2 videos per step (M does not divide L): over 4
    # steps the queue wraps
    g = torch.Generator().manual_seed(21)
    rows, videos, k = 5, 2, 4
    start = torch.randn(rows, 2, k, generator=g, dtype=torch.float64)
    steps = [(unit(videos, 3, seed=30 + s) @ unit(k, 3, seed=40).t(),
              unit(videos, 3, seed=50 + s) @ unit(k, 3, seed=40).t())
             for s in range(4)]
    # mmcmd's queue: newest row first (MLFOSwAVHead.enqueue); the reference's:
    # newest last. The starting rows have no age, so one is the other
    # reversed.
    expected = reference_fifo_codes(start[:, 0].flip(0), [s1 for s1, _ in
                                                          steps], 0.05)
    loss = MLFOSwAVLoss(0.1, 0.05, 3, queue_rows='reference')
    extra = MLFOSwAVLoss(0.1, 0.05, 3)
    queue = start.clone()
    for (s1, s2), want in zip(steps, expected):
        value, codes, scores = loss(s1, s2, queue)
        torch.testing.assert_close(codes[:, 0],
                                   torch.tensor(want, dtype=codes.dtype))
        # the loss is the swapped prediction with these codes: Sinkhorn over
        # the newest L - M queue rows and the batch (L rows)
        brute, _, _ = swav_brute_force(s1, s2, queue[:rows - videos], 0.1,
                                       0.05)
        assert value.item() == pytest.approx(brute, rel=1e-9)
        # 'extra' runs over all L queue rows plus the batch: other codes
        other = extra(s1, s2, queue)[1]
        assert not torch.allclose(other[:, 0], codes[:, 0])
        holder = SimpleNamespace(queue=queue.clone())
        MLFOSwAVHead.enqueue(holder, scores)  # the head's FIFO step
        queue = holder.queue
    with pytest.raises(ValueError, match='must hold the global batch'):
        loss(s1, s2, queue[:1])
    with pytest.raises(ValueError, match='queue_rows'):
        MLFOSwAVLoss(queue_rows='newest')


def test_gather_grad_is_checked_and_inert_in_one_process():
    z1, z2 = (unit(4, 3, seed=s).requires_grad_() for s in (60, 61))
    grads = {}
    for mode in ('exact', 'reference'):
        loss = MLFOInstanceLoss(0.07, gather_grad=mode)(z1, z2)
        grads[mode] = torch.autograd.grad(loss, [z1, z2])
    for a, b in zip(grads['exact'], grads['reference']):
        torch.testing.assert_close(a, b)
    for cls in (MLFOInstanceLoss, MLFOMotionContrastLoss, MLFOGraphLoss):
        with pytest.raises(ValueError, match='gather_grad'):
            cls(gather_grad='none')


@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    """Losses and local gradients of the 2 gloo processes, per mode."""
    tmp_path = tmp_path_factory.mktemp('mlfo_dist')
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path)),
             nprocs=WORLD, join=True)
    return [torch.load(tmp_path / f'{r}.pt', weights_only=True)
            for r in range(WORLD)]


def check_graph_links_ranks(x, queue_rows: str) -> None:
    """The graph of these inputs links videos of different ranks."""
    codes = mlfo_losses.MLFOSwAVLoss(0.1, queue_rows=queue_rows)(
        x['s1'], x['s2'], x['queue'])[1]
    labels = codes.sum(1).argmax(1)
    graph = similarity_graph(x['z1'], x['z2'], labels, labels, 0)
    assert (graph[:PER_RANK, PER_RANK:] > 0.01).any()
    assert (graph[PER_RANK:, :PER_RANK] > 0.01).any()
    return graph


def check_values_and_scores(ranks, mode: str, values, scores) -> None:
    """Every rank saw the whole batch's scores; DDP averages over ranks:
    the mean of the rank losses equals the one-process loss."""
    for rank in ranks:
        torch.testing.assert_close(rank[mode]['scores'], scores)
    for name, value in values.items():
        mean = sum(rank[mode][name] for rank in ranks) / WORLD
        assert mean.item() == pytest.approx(value.item(), rel=1e-9), name


def test_two_processes_equal_one_process_on_the_whole_batch(two_ranks):
    ranks = two_ranks
    x = {k: (v if k == 'queue' else v.clone().requires_grad_())
         for k, v in full_inputs().items()}
    values, scores = all_losses(mlfo_losses, x, 0, WORLD * PER_RANK)
    check_graph_links_ranks(x, 'extra')
    check_values_and_scores(ranks, 'exact', values, scores)
    for name, value in values.items():
        # the rank gradients / WORLD (DDP's average) equal the one-process
        # gradients
        keys = [k for k in x if k != 'queue']
        grads = torch.autograd.grad(value, [x[k] for k in keys],
                                    allow_unused=True)
        for key, grad in zip(keys, grads):
            if grad is None:
                assert all(f'{name}/{key}' not in r['exact'] for r in ranks)
                continue
            for r, rank in enumerate(ranks):
                rows = slice(r * PER_RANK, (r + 1) * PER_RANK)
                torch.testing.assert_close(rank['exact'][f'{name}/{key}']
                                           / WORLD, grad[rows],
                                           msg=f'{name}/{key}')


def live_rows(full: torch.Tensor, rows: slice) -> torch.Tensor:
    """``full`` with only ``rows`` differentiable: the other rows are
    constants (another rank's features in the released code)."""
    out = full.detach().clone()
    out[rows] = full[rows]
    return out


def contrast_of_rows(c1, c2, rows: slice, tau: float, hard=None):
    """Instance (or, with ``hard`` = the reversed clips, motion) loss of the
    anchors of ``rows`` against the whole batch, one anchor at a time."""
    clips, m, terms = (c1, c2), c1.shape[0], []
    for view in range(2):
        for i in range(rows.start, rows.stop):
            anchor = clips[view][i]
            positive = anchor @ clips[1 - view][i] / tau
            others = [anchor @ clips[v][j] / tau
                      for v in range(2) for j in range(m) if j != i]
            if hard is not None:
                others += [anchor @ hard[v][i] / tau for v in range(2)]
            terms.append(torch.logsumexp(torch.stack([positive, *others]), 0)
                         - positive)
    return torch.stack(terms).mean()


def graph_of_rows(g1, g2, graph, rows: slice, tau: float):
    """Graph loss of the rows ``rows`` of g1 against every row of g2: mean
    over the rows x M entries of -G_ij log softmax_j(g1_i . g2_j / tau)."""
    m, terms = g2.shape[0], []
    for i in range(rows.start, rows.stop):
        logits = torch.stack([g1[i] @ g2[j] / tau for j in range(m)])
        log_z = torch.logsumexp(logits, 0)
        terms += [-graph[i, j] * (logits[j] - log_z) for j in range(m)]
    return torch.stack(terms).mean()


def test_reference_gather_gives_each_rank_its_own_loss_gradient(two_ranks):
    """gather_grad='reference' (train.py:220-226): a rank's gradient is that
    of its own loss with the other rank's features held constant."""
    ranks = two_ranks
    x = {k: (v if k == 'queue' else v.clone().requires_grad_())
         for k, v in full_inputs().items()}
    values, scores = all_losses(mlfo_losses, x, 0, WORLD * PER_RANK,
                                'reference')
    graph = check_graph_links_ranks(x, 'reference')
    check_values_and_scores(ranks, 'reference', values, scores)
    # the forward pass is the same in both gather modes (the SwAV codes and
    # with them the graph also differ by queue_rows)
    for name in ('instance', 'motion', 'timestamp'):
        for rank in ranks:
            torch.testing.assert_close(rank['reference'][name],
                                       rank['exact'][name])
    keys = dict(instance=('z1', 'z2'), motion=('z1', 'z2', 'r1', 'r2'),
                graph=('r1', 'r2'))
    for r, rank in enumerate(ranks):
        rows = slice(r * PER_RANK, (r + 1) * PER_RANK)
        v = {k: live_rows(x[k], rows) for k in ('z1', 'z2', 'r1', 'r2')}
        brute = dict(
            instance=contrast_of_rows(v['z1'], v['z2'], rows, 0.07),
            motion=contrast_of_rows(v['z1'], v['z2'], rows, 0.07,
                                    hard=(v['r1'], v['r2'])),
            graph=graph_of_rows(v['r1'], v['r2'], graph, rows, 0.07))
        for name, value in brute.items():
            assert rank['reference'][name].item() == pytest.approx(
                value.item(), rel=1e-9), name
            grads = torch.autograd.grad(value, [x[k] for k in keys[name]],
                                        retain_graph=True)
            for key, grad in zip(keys[name], grads):
                # nothing reaches the other rank's rows
                assert not grad[:rows.start].any()
                assert not grad[rows.stop:].any()
                torch.testing.assert_close(
                    rank['reference'][f'{name}/{key}'], grad[rows],
                    msg=f'{name}/{key}')
                # features gathered as keys: the exact gradient also holds
                # the other rank's loss terms (the reversed clips, local
                # only, get the same gradient in both; the graph's g1 is
                # local only too, but its G differs with queue_rows)
                if (name, key) != ('graph', 'r1'):
                    same = rank['exact'][f'{name}/{key}'].allclose(grad[rows])
                    assert same == (name == 'motion' and key in ('r1', 'r2'))
    # losses without gathered gradients: as in the exact mode
    for name in ('timestamp', 'swav'):
        keys = [k for k in x if k != 'queue']
        grads = torch.autograd.grad(values[name], [x[k] for k in keys],
                                    allow_unused=True)
        for key, grad in zip(keys, grads):
            if grad is None:
                continue
            for r, rank in enumerate(ranks):
                rows = slice(r * PER_RANK, (r + 1) * PER_RANK)
                torch.testing.assert_close(
                    rank['reference'][f'{name}/{key}'] / WORLD, grad[rows])
