"""tools/analysis/benchmark_retrieval.py on a tiny problem."""
import json

import numpy as np
import pytest
from suite_utils import load_tool

from mmcmd.evaluation import recall_at_k


def test_benchmark_rows_and_reference(tmp_path):
    tool = load_tool('tools/analysis/benchmark_retrieval.py')
    rng = np.random.default_rng(1)
    data = (rng.normal(size=(40, 6)), rng.integers(0, 4, 40),
            rng.normal(size=(70, 6)), rng.integers(0, 4, 70))
    assert tool.sort_recall_at_k(*data) == pytest.approx(
        recall_at_k(*data, chunk_size=9))
    out = tmp_path / 'bench.json'
    assert tool.main(['--queries', '60', '--gallery', '90', '--dim', '8',
                      '--classes', '5', '--chunk-size', '7', '--json',
                      str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {r['name']: r for r in report['rows']}
    assert report['machine']['cpu_count'] >= 1
    for precision in ('float32', 'float32_all_ranks', 'float64'):
        assert rows[f'chunked_{precision}_recall_identical']['value'] == 1
        assert rows[f'chunked_{precision}_ranks_differing']['value'] == 0
        assert rows[f'speedup_{precision}']['value'] == pytest.approx(
            rows['sort_float64']['value']
            / rows[f'chunked_{precision}']['value'])
    # 60 x 90 float64 similarities alone are 43 KB.
    assert rows['sort_float64_peak_memory']['value'] > 0.04


def test_search_rows_compare_numpy_faiss_and_ivf(tmp_path):
    pytest.importorskip('faiss')
    tool = load_tool('tools/analysis/benchmark_retrieval.py')
    out = tmp_path / 'search.json'
    assert tool.main(['--skip-compare', '--search', '2000',
                      '--search-dim', '16', '--search-queries', '30',
                      '--search-clusters', '20', '--json', str(out)]) == 0
    rows = {r['name']: r['value']
            for r in json.loads(out.read_text())['rows']}
    # Exact search: faiss and numpy agree neighbour for neighbour.
    assert rows['search_flat_same_neighbours'] == 1
    assert 0.0 <= rows['search_ivf_recall_at_k'] <= 1.0
    assert rows['search_collection'] == 2000
    assert rows['search_faiss_ivf_ms_per_query'] == pytest.approx(
        1000 * rows['search_faiss_ivf_query'] / 30)
    # faiss's minimum of 39 training vectors per cell bounds nlist.
    assert 1 <= rows['search_ivf_nlist'] <= 2000 // 39
