"""EmbeddingGallery: exact search (faiss and numpy), IVF, saved index."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from mmcmd.apis.search import EmbeddingGallery, default_nlist, exact_topk


def stable_topk(vectors, queries, k):
    """Reference: full stable sort of float64 cosines, ties by row."""
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = queries.astype(np.float64) @ vectors.T.astype(np.float64)
    order = np.argsort(-scores, axis=1, kind='stable')[:, :k]
    return np.take_along_axis(scores, order, 1), order


def clustered(rng, count, dim=16, centres=20, spread=0.3):
    """Vectors around ``centres`` random directions (what IVF expects)."""
    means = rng.normal(size=(centres, dim))
    return (means[rng.integers(0, centres, count)]
            + spread * rng.normal(size=(count, dim))).astype(np.float32)


def tied_gallery():
    """Rows with many exactly equal cosines (entries 0/+-1, norms 1 or 2)."""
    rng = np.random.default_rng(3)
    rows = np.zeros((60, 6), np.float32)
    for row in rows:
        cols = rng.choice(6, 4 if rng.random() < 0.6 else 1, replace=False)
        row[cols] = rng.choice([-1.0, 1.0], len(cols))
    return np.r_[rows, rows[:10]]  # exact duplicates too


def paths_for(count):
    return [f'videos/v{i:04d}.mp4' for i in range(count)]


def write_gallery(prefix, vectors):
    np.save(f'{prefix}.npy', vectors)
    with open(f'{prefix}.index.txt', 'w') as f:
        f.write(''.join(p + '\n' for p in paths_for(len(vectors))))


@pytest.mark.parametrize('data', ['random', 'tied'])
def test_numpy_exact_search_is_a_stable_sort(data):
    rng = np.random.default_rng(0)
    vectors = clustered(rng, 300) if data == 'random' else tied_gallery()
    queries = vectors[::7] + (0.05 * rng.normal(size=vectors[::7].shape)
                              if data == 'random' else 0)
    ref_scores, ref_rows = stable_topk(vectors, queries, 12)
    gallery = EmbeddingGallery(vectors, paths_for(len(vectors)),
                               use_faiss=False)
    scores, rows = gallery.topk(queries, 12)
    assert gallery.backend == 'numpy'
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)
    # k beyond the gallery returns the whole gallery.
    assert exact_topk(gallery.vectors, gallery.vectors[:2], 500)[1].shape \
        == (2, len(vectors))


@pytest.mark.parametrize('data', ['random', 'tied'])
def test_faiss_and_numpy_give_the_same_neighbours(data):
    pytest.importorskip('faiss')
    rng = np.random.default_rng(1)
    vectors = clustered(rng, 400) if data == 'random' else tied_gallery()
    queries = rng.normal(size=(25, vectors.shape[1])) if data == 'random' \
        else vectors[::3]
    paths = paths_for(len(vectors))
    with_faiss = EmbeddingGallery(vectors, paths, use_faiss=True)
    with_numpy = EmbeddingGallery(vectors, paths, use_faiss=False)
    assert with_faiss.backend == 'faiss'
    for k in (1, 10, len(vectors)):
        scores_f, rows_f = with_faiss.topk(queries, k)
        scores_n, rows_n = with_numpy.topk(queries, k)
        np.testing.assert_array_equal(rows_f, rows_n)
        np.testing.assert_allclose(scores_f, scores_n, atol=1e-5)
    assert with_faiss.search(queries[0], 5, exclude=paths[rows_n[0, 0]]) \
        == [(p, pytest.approx(s, abs=1e-5))
            for p, s in with_numpy.search_batch(queries[:1], 6)[0][1:]]


def test_numpy_fallback_without_faiss(monkeypatch):
    monkeypatch.setitem(sys.modules, 'faiss', None)  # import faiss fails
    vectors = clustered(np.random.default_rng(2), 50)
    gallery = EmbeddingGallery(vectors, paths_for(50))
    assert gallery.backend == 'numpy'
    assert gallery.search(vectors[7], 1)[0][0] == paths_for(50)[7]
    with pytest.raises(ImportError, match='pip install faiss-cpu'):
        EmbeddingGallery(vectors, paths_for(50), use_faiss=True)
    with pytest.raises(ImportError, match='pip install faiss-cpu'):
        EmbeddingGallery(vectors, paths_for(50), index='ivf', nlist=2)


def ivf_recall_reference(vectors, rows, approx_rows, k):
    """Share of the exact k nearest (self excluded) found by IVF."""
    _, exact = stable_topk(vectors, vectors[rows], k + 1)
    found = 0
    for row, truth, got in zip(rows, exact, approx_rows):
        truth = [r for r in truth if r != row][:k]
        got = [r for r in got if r != row and r >= 0][:k]
        found += len(set(truth) & set(got))
    return found / (k * len(rows))


def test_ivf_recall_against_exact():
    pytest.importorskip('faiss')
    rng = np.random.default_rng(4)
    vectors = clustered(rng, 1200, spread=1.0)
    paths = paths_for(1200)
    exact = EmbeddingGallery(vectors, paths, use_faiss=False)
    every_cell = EmbeddingGallery(vectors, paths, index='ivf', nlist=12,
                                  nprobe=12)
    # Probing every cell is exhaustive: same neighbours as exact search.
    np.testing.assert_array_equal(every_cell.topk(vectors[:40], 10)[1],
                                  exact.topk(vectors[:40], 10)[1])
    assert every_cell.ivf_recall(10) == 1.0
    one_cell = EmbeddingGallery(vectors, paths, index='ivf', nlist=12,
                                nprobe=1)
    assert one_cell.describe() == ('1200 videos, cosine similarity (faiss '
                                   'IVF nlist=12 nprobe=1)')
    recall = one_cell.ivf_recall(10, samples=300)
    rows = np.sort(np.random.default_rng(0).choice(1200, 300, replace=False))
    approx = one_cell._index.search(one_cell.vectors[rows], 11)[1]
    assert recall == pytest.approx(
        ivf_recall_reference(vectors, rows, approx, 10))
    assert 0.3 < recall < 1.0


def test_ivf_index_is_saved_and_reloaded(tmp_path):
    pytest.importorskip('faiss')
    rng = np.random.default_rng(5)
    prefix = str(tmp_path / 'emb')
    write_gallery(prefix, clustered(rng, 800))
    first = EmbeddingGallery.load(prefix, index='ivf', nlist=10, nprobe=2)
    assert not first.index_loaded
    assert first.index_file == prefix + '.ivf10.faiss'
    assert os.path.isfile(first.index_file)
    recall = first.ivf_recall(5, samples=200)
    queries = rng.normal(size=(20, 16))
    again = EmbeddingGallery.load(prefix, index='ivf', nlist=10, nprobe=2)
    assert again.index_loaded
    assert again.recalls == first.recalls and again.ivf_recall(5, 200) \
        == recall
    for a, b in zip(first.topk(queries, 8), again.topk(queries, 8)):
        np.testing.assert_array_equal(a, b)
    assert not EmbeddingGallery.load(prefix, index='ivf', nlist=10,
                                     rebuild=True).index_loaded
    # New embeddings in PREFIX.npy: the saved index is stale, train again.
    changed = clustered(rng, 800)
    write_gallery(prefix, changed)
    fresh = EmbeddingGallery.load(prefix, index='ivf', nlist=10, nprobe=10)
    assert not fresh.index_loaded
    assert fresh.search(changed[123], 1)[0][0] == paths_for(800)[123]


def test_errors_give_the_real_numbers(tmp_path):
    vectors = clustered(np.random.default_rng(6), 30, dim=512)
    gallery = EmbeddingGallery(vectors, paths_for(30), use_faiss=False)
    with pytest.raises(ValueError, match=r'query has 2048 dims, the gallery '
                       r'512 \(query shape \(2, 2048\)\)'):
        gallery.search_batch(np.ones((2, 2048)))
    with pytest.raises(ValueError, match=r'one query vector, got 2'):
        gallery.search(np.ones((2, 512)))
    assert len(gallery.search_batch(vectors[:3], 4)) == 3
    assert gallery.search(vectors[4][None], 1)[0][0] == paths_for(30)[4]
    with pytest.raises(ValueError, match='the gallery is empty'):
        EmbeddingGallery(np.zeros((0, 512)), [])
    prefix = str(tmp_path / 'none')
    write_gallery(prefix, np.zeros((0, 512), np.float32))
    with pytest.raises(ValueError, match='the gallery is empty'):
        EmbeddingGallery.load(prefix)
    with pytest.raises(ValueError, match=r'shape \(30, 512\) for 29 paths'):
        EmbeddingGallery(vectors, paths_for(29))
    with pytest.raises(ValueError, match='nlist=40 must be between 1 and '
                       r'the gallery size \(30\)'):
        EmbeddingGallery(vectors, paths_for(30), index='ivf', nlist=40)
    with pytest.raises(ValueError, match="index='ivf' needs faiss"):
        EmbeddingGallery(vectors, paths_for(30), use_faiss=False,
                         index='ivf')
    assert default_nlist(30) == 1 and default_nlist(240000) == 1960
