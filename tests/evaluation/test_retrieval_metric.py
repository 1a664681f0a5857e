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
    import mmcmd  # noqa: F401
    from mmaction.registry import MODELS
    from mmengine.config import Config
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
