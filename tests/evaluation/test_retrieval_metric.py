"""Retrieval R@k: brute-force reference, tools/test.py, 1 vs 2 processes."""
from __future__ import annotations

import pickle
import re
import sys

import numpy as np
import pytest
import torch
from suite_utils import REPO_ROOT, free_port, run_tool

from mmcmd.evaluation import recall_at_k
from mmcmd.evaluation.retrieval_metric import NO_HIT, first_hit_ranks

CFG = str(REPO_ROOT / 'tests' / 'configs' / 'tiny_retrieval.py')


def brute_force_recall(query, qlab, gallery, glab, k, center=False):
    if center:
        query = query - query.mean(0)
        gallery = gallery - gallery.mean(0)
    hits = 0
    for q, label in zip(query, qlab):
        sims = []
        for j, g in enumerate(gallery):
            cos = float(np.dot(q, g) / (np.linalg.norm(q) * np.linalg.norm(g)))
            sims.append((-cos, j))
        nearest = [j for _, j in sorted(sims)[:k]]
        hits += any(glab[j] == label for j in nearest)
    return hits / len(query)


@pytest.mark.filterwarnings('ignore:recall_at_k. k=.50. exceeds')
@pytest.mark.parametrize('center', [False, True])
def test_recall_matches_brute_force(center):
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(40, 8))
    glab = rng.integers(0, 5, 40)
    query = rng.normal(size=(15, 8))
    qlab = rng.integers(0, 5, 15)
    out = recall_at_k(query, qlab, gallery, glab, (1, 3, 10, 50), center)
    for k in (1, 3, 10, 50):
        assert out[f'R@{k}'] == pytest.approx(
            brute_force_recall(query, qlab, gallery, glab, k, center))
    assert out['R@50'] == 1.0 or len(set(qlab) - set(glab)) > 0


def test_exact_duplicate_is_found():
    gallery = np.eye(4)
    out = recall_at_k(gallery * 3, np.arange(4), gallery, np.arange(4), (1,))
    assert out['R@1'] == 1.0
    out = recall_at_k(gallery, np.array([1, 2, 3, 0]), gallery,
                      np.arange(4), (1,))
    assert out['R@1'] == 0.0


def parse_metrics(log: str) -> dict:
    found = dict(re.findall(r'retrieval/(R@\d+): ([0-9.]+)', log))
    assert found, log[-2000:]
    return {k: float(v) for k, v in found.items()}


def test_tools_test_retrieval_one_and_two_processes(tiny_dataset):
    from mmaction.registry import MODELS
    from mmengine.config import Config

    import mmcmd  # noqa: F401
    cfg = Config.fromfile(CFG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = tiny_dataset / 'embedder.pth'
    torch.save({'state_dict': model.state_dict()}, str(ckpt))

    single = run_tool([sys.executable, str(REPO_ROOT / 'tools/test.py'), CFG,
                       str(ckpt), '--work-dir', str(tiny_dataset / 'w1'),
                       '--dump', str(tiny_dataset / 'preds.pkl')],
                      tiny_dataset)
    assert single.returncode == 0, single.stderr[-3000:]
    metrics = parse_metrics(single.stdout + single.stderr)
    assert set(metrics) == {'R@1', 'R@2', 'R@5'}

    with open(tiny_dataset / 'preds.pkl', 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 6 + 3  # every gallery and query video, none dropped
    roles = [p['retrieval_role'] for p in preds]
    assert roles == ['gallery'] * 6 + ['query'] * 3
    emb = np.stack([np.asarray(p['embedding']) for p in preds])
    labels = np.array([int(p['gt_label']) for p in preds])
    for k in (1, 2, 5):
        expected = brute_force_recall(emb[6:], labels[6:], emb[:6],
                                      labels[:6], k)
        assert metrics[f'R@{k}'] == pytest.approx(expected, abs=1e-4)

    dist = run_tool(['bash', str(REPO_ROOT / 'tools/dist_test.sh'), CFG,
                     str(ckpt), '2', '--work-dir', str(tiny_dataset / 'w2')],
                    tiny_dataset,
                    env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    assert dist.returncode == 0, dist.stderr[-3000:]
    assert parse_metrics(dist.stdout + dist.stderr) == metrics


# ------------------------------------------------ chunked exact ranking
def brute_force_ranks(query, qlab, gallery, glab, center=False):
    """0-based rank of the first same-class video, stable sort, per query."""
    if center:
        query = query - query.mean(0)
        gallery = gallery - gallery.mean(0)
    ranks = []
    for q, label in zip(query, qlab):
        order = sorted(range(len(gallery)), key=lambda j: (
            -float(np.dot(q, gallery[j]) / max(
                np.linalg.norm(q) * np.linalg.norm(gallery[j]), 1e-300)), j))
        hits = [r for r, j in enumerate(order) if glab[j] == label]
        ranks.append(hits[0] if hits else NO_HIT)
    return np.array(ranks)


def exactly_tied_vectors(rng, count, dim):
    """Rows of 1 or 4 entries +-1 (norm 1 or 2): every cosine between them
    is a multiple of 1/8, exact in float32 and float64, so equal scores are
    truly equal whatever the summation order."""
    rows = np.zeros((count, dim))
    for row in rows:
        cols = rng.choice(dim, 4 if rng.random() < 0.7 else 1, replace=False)
        row[cols] = rng.choice([-1.0, 1.0], len(cols))
    return rows


@pytest.mark.parametrize('seed', range(6))
def test_ties_match_stable_sort(seed):
    rng = np.random.default_rng(seed)
    gallery = exactly_tied_vectors(rng, 30, 5)
    query = exactly_tied_vectors(rng, 12, 5)
    center = seed % 2 == 1
    if center:  # symmetric sets: the mean is exactly zero
        gallery, query = np.r_[gallery, -gallery], np.r_[query, -query]
    glab = rng.integers(0, 4, len(gallery))
    qlab = rng.integers(0, 5, len(query))  # class 4: never in the gallery
    expected = brute_force_ranks(query, qlab, gallery, glab, center)
    assert (expected[qlab == 4] == NO_HIT).all()
    assert len(set(expected.tolist())) > 3  # not a degenerate case
    for chunk in (1, 5, None):
        for precision in ('float32', 'float64'):
            ranks = first_hit_ranks(query, qlab, gallery, glab, center, chunk,
                                    precision)
            np.testing.assert_array_equal(ranks, expected)
            # With a limit, ranks from the limit on are reported as it.
            for limit in (1, 3, 10):
                np.testing.assert_array_equal(
                    first_hit_ranks(query, qlab, gallery, glab, center, chunk,
                                    precision, limit),
                    np.where(expected == NO_HIT, NO_HIT,
                             np.minimum(expected, limit)))
    ks = range(1, len(gallery) + 1)
    out = recall_at_k(query, qlab, gallery, glab, ks, center, chunk_size=4)
    for k in ks:
        assert out[f'R@{k}'] == pytest.approx(np.mean(expected < k))


def test_tied_scores_rank_by_gallery_order():
    v, w = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    gallery = np.stack([w, v, v * 2, v, v])
    glab = np.array([0, 1, 2, 0, 2])
    # Query v of class 0: v-rows at 1 (class 1) and 2 (class 2) come first.
    # Query v of class 2: its class is at row 2, after row 1 only.
    # Query w of class 1: w at row 0 is class 0; the v-rows all tie at 0,
    # the first class-1 one (row 1) is next.
    ranks = first_hit_ranks(np.stack([v, v, w]), np.array([0, 2, 1]),
                            gallery, glab, chunk_size=2)
    np.testing.assert_array_equal(ranks, [2, 1, 1])
    out = recall_at_k(np.stack([v, v, w]), np.array([0, 2, 1]), gallery,
                      glab, (1, 2, 3))
    assert out == {'R@1': 0.0, 'R@2': pytest.approx(2 / 3), 'R@3': 1.0}


@pytest.mark.parametrize('chunk', [1, 7, 64])
def test_chunked_matches_full_sort(chunk):
    rng = np.random.default_rng(chunk)
    gallery = rng.normal(size=(300, 16)).astype(np.float32)
    query = rng.normal(size=(100, 16)).astype(np.float32)
    glab, qlab = rng.integers(0, 12, 300), rng.integers(0, 12, 100)
    ks = (1, 5, 10, 20, 50, 300)
    # Vectorised brute force: stable argsort of the full matrix.
    qn = query / np.linalg.norm(query, axis=1, keepdims=True)
    gn = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    order = np.argsort(-(qn.astype(np.float64) @ gn.T.astype(np.float64)),
                       axis=1, kind='stable')
    hits = glab[order] == qlab[:, None]
    first = np.where(hits.any(1), hits.argmax(1), NO_HIT)
    np.testing.assert_array_equal(
        first_hit_ranks(query, qlab, gallery, glab, chunk_size=chunk), first)
    np.testing.assert_array_equal(
        first_hit_ranks(query, qlab, gallery, glab, chunk_size=chunk,
                        limit=20), np.minimum(first, 20))
    out = recall_at_k(query, qlab, gallery, glab, ks, chunk_size=chunk)
    assert out == {f'R@{k}': float(np.mean(first < k)) for k in ks}


def test_memory_is_bounded_by_the_chunk():
    import tracemalloc
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(3000, 8)).astype(np.float32)
    query = rng.normal(size=(2000, 8)).astype(np.float32)
    glab, qlab = rng.integers(0, 10, 3000), rng.integers(0, 10, 2000)

    def peak(chunk):
        tracemalloc.start()
        ranks = first_hit_ranks(query, qlab, gallery, glab, chunk_size=chunk)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used, ranks
    small, ranks_small = peak(100)
    full, ranks_full = peak(2000)
    np.testing.assert_array_equal(ranks_small, ranks_full)
    # The full block alone is 2000 x 3000 float32 = 24 MB; a block of 100
    # queries 1.2 MB, and the unit-norm copies of both sets 0.16 MB.
    assert full > 24e6
    assert small < 3e6


def test_k_beyond_gallery_counts_the_whole_gallery():
    gallery = np.eye(3)
    query = np.array([[1.0, 1, 0], [0, 0, 1], [1, 0, 0]])
    with pytest.warns(UserWarning, match=r'k=\[5\] exceeds the gallery size'):
        out = recall_at_k(query, np.array([2, 7, 0]), gallery, np.arange(3),
                          (1, 3, 5))
    # Class 7 is not in the gallery: no k finds it.
    assert out == {'R@1': pytest.approx(1 / 3), 'R@3': pytest.approx(2 / 3),
                   'R@5': pytest.approx(2 / 3)}


def test_bad_inputs_name_the_numbers():
    gallery, labels = np.ones((4, 8)), np.zeros(4)
    with pytest.raises(ValueError, match='gallery set is empty'):
        recall_at_k(gallery, labels, np.zeros((0, 8)), np.zeros(0))
    with pytest.raises(ValueError, match='query embeddings have 6 dims, '
                       'gallery embeddings 8'):
        recall_at_k(np.ones((2, 6)), np.zeros(2), gallery, labels)
    with pytest.raises(ValueError, match='4 gallery embeddings but gallery '
                       r'labels of shape \(3,\)'):
        recall_at_k(gallery, labels, gallery, np.zeros(3))
    nan = gallery.copy()
    nan[2, 1] = np.nan
    with pytest.raises(ValueError, match=r'row\(s\) \[2\] hold NaN'):
        recall_at_k(gallery, labels, nan, labels)
    with pytest.raises(ValueError, match='k must be >= 1'):
        recall_at_k(gallery, labels, gallery, labels, (0, ))
