"""tools/search.py on stored embeddings: queries, IVF index, exit codes."""
from __future__ import annotations

import os

import numpy as np
import pytest
from suite_utils import load_tool


@pytest.fixture(scope='module')
def search_tool():
    return load_tool('tools/search.py')


@pytest.fixture
def gallery(tmp_path):
    """600 embeddings of 32 dims around 15 directions, with their paths."""
    rng = np.random.default_rng(0)
    means = rng.normal(size=(15, 32))
    vectors = (means[rng.integers(0, 15, 600)]
               + rng.normal(size=(600, 32))).astype(np.float32)
    prefix = str(tmp_path / 'emb')
    np.save(prefix + '.npy', vectors)
    paths = [f'videos/{i:03d}.mp4' for i in range(600)]
    (tmp_path / 'emb.index.txt').write_text('\n'.join(paths) + '\n')
    return prefix, vectors, paths


def parse_blocks(out: str):
    """{query number: [(rank, score, path), ...]} of the printed results."""
    blocks, current = {}, 0
    for line in out.splitlines():
        if line.startswith('# query '):
            current = int(line.split()[2])
        elif not line.startswith('#'):
            rank, score, path = line.split('\t')
            blocks.setdefault(current, []).append((int(rank), float(score),
                                                   path))
    return blocks


def cosine_order(vectors, query):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return np.argsort(-scores, kind='stable'), scores


def test_several_queries_in_one_file(search_tool, gallery, tmp_path,
                                     capsys):
    prefix, vectors, paths = gallery
    queries = vectors[[5, 77]] + 0.1
    np.save(tmp_path / 'q.npy', queries)
    for flags in ([], ['--numpy']):
        assert search_tool.main([prefix, '--embedding',
                                 str(tmp_path / 'q.npy'), '-k', '4',
                                 *flags]) == 0
        blocks = parse_blocks(capsys.readouterr().out)
        assert sorted(blocks) == [0, 1]
        for number, query in enumerate(queries):
            order, scores = cosine_order(vectors, query)
            assert [b[2] for b in blocks[number]] == [paths[i]
                                                      for i in order[:4]]
            np.testing.assert_allclose([b[1] for b in blocks[number]],
                                       scores[order[:4]], atol=1e-4)


def test_errors_exit_non_zero_with_the_right_numbers(search_tool, gallery,
                                                     tmp_path, capsys):
    prefix, vectors, paths = gallery
    np.save(tmp_path / 'wide.npy', np.ones((2, 64), np.float32))
    assert search_tool.main([prefix, '--embedding',
                             str(tmp_path / 'wide.npy')]) == 1
    err = capsys.readouterr().err
    assert 'query has 64 dims, the gallery 32' in err and '128' not in err
    np.save(tmp_path / 'empty.npy', np.zeros((0, 32), np.float32))
    (tmp_path / 'empty.index.txt').write_text('')
    assert search_tool.main([str(tmp_path / 'empty'), '--index-of', 'a']) == 1
    assert 'the gallery is empty' in capsys.readouterr().err
    assert search_tool.main([str(tmp_path / 'absent'), '--index-of',
                             'a']) == 1
    assert search_tool.main([prefix, '--index-of', 'videos/none.mp4']) == 1
    assert 'videos/none.mp4' in capsys.readouterr().err
    assert search_tool.main([prefix, '--index', 'ivf', '--nlist',
                             '601']) == 1
    assert 'nlist=601' in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_flag:
        search_tool.main([prefix, '-k', '0'])
    assert bad_flag.value.code == 2


def test_ivf_index_built_saved_reloaded_with_recall(search_tool, gallery,
                                                    capsys):
    pytest.importorskip('faiss')
    from mmcmd.apis import EmbeddingGallery
    prefix, vectors, paths = gallery
    args = [prefix, '--index', 'ivf', '--nlist', '15', '--nprobe', '2',
            '-k', '5', '--recall-samples', '200']
    assert search_tool.main(args) == 0  # no query: build and report
    out = capsys.readouterr().out
    assert os.path.isfile(prefix + '.ivf15.faiss')
    assert 'trained, saved' in out
    recall = float(out.split('recall@5 vs exact search: ')[1].split()[0])
    exact = EmbeddingGallery(vectors, paths, use_faiss=False)
    ivf = EmbeddingGallery.load(prefix, index='ivf', nlist=15, nprobe=2)
    assert ivf.index_loaded
    # The printed recall, recomputed: exact vs IVF neighbours (self out).
    rows = np.sort(np.random.default_rng(0).choice(600, 200, replace=False))
    _, truth = exact.topk(vectors[rows], 6)
    _, got = ivf.topk(vectors[rows], 6)
    found = sum(len(set(t[t != r][:5]) & set(g[(g != r) & (g >= 0)][:5]))
                for r, t, g in zip(rows, truth, got))
    assert recall == pytest.approx(found / (5 * 200), abs=1e-4)
    assert 0 < recall < 1
    assert search_tool.main(args + ['--index-of', paths[9]]) == 0
    out = capsys.readouterr().out
    assert 'IVF index loaded' in out
    hits = parse_blocks(out)[0]
    expected = ivf.search(vectors[9], 5, exclude=paths[9])
    assert len(hits) == 5 and [h[2] for h in hits] == [p for p, _ in expected]
