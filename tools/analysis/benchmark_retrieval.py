"""Benchmark the retrieval metric (R@k) against a full-sort reference.

Rows, on random embeddings (standard normal) with random labels:

  sort_float64        the reference: float64 Q x G cosine matrix, stable
                      argsort of every row (the metric's former code)   s
  chunked_float32     what mmcmd.evaluation.recall_at_k runs (blocks of
                      queries, no sort, a query stops once 50 videos
                      rank above its first hit), default precision      s
  chunked_float32_all_ranks   the same without stopping: every rank  s
  chunked_float64     as chunked_float32 with precision='float64'       s
  speedup_float32     sort_float64 / chunked_float32, same run          x
  *_cpu               CPU seconds of the process, all threads (for shared
                      machines, where wall time depends on the others)  s
  cpu_speedup_*       the same ratio in CPU seconds                     x
  *_peak_memory       most memory allocated during the call, inputs
                      excluded (tracemalloc sees numpy's buffers)       MB
  *_ranks_differing   queries whose first-hit rank differs from the
                      reference (float32 may differ on near-ties)   queries
  *_recall_identical  1 when every R@k equals the reference's           flag

With ``--large`` (minutes; never part of the tests), rows ``large_*`` time
the chunked metric alone on a Kinetics-400-sized problem, 20k queries x
240k gallery of 2048-d embeddings by default, and report its peak memory.

With ``--search N``, rows ``search_*`` time mmcmd.apis.EmbeddingGallery (what
tools/search.py runs) on a collection of N clustered embeddings
(``--search-dim``, ``--search-clusters`` centres plus noise, so that IVF
cells mean something) and ``--search-queries`` queries of the same law:
numpy exact search, faiss exact (IndexFlatIP) build and search, the IVF
index's training, search and its recall@10 against exact search, and
whether numpy and faiss return the same neighbours.

On a shared machine, CPU time is the steadier figure, and with one BLAS
thread (OPENBLAS_NUM_THREADS=1) it is not inflated by threads waiting for
a core; the environment's thread settings are recorded in the JSON.

Examples:
    python tools/analysis/benchmark_retrieval.py --json retrieval_bench.json
    OPENBLAS_NUM_THREADS=1 python tools/analysis/benchmark_retrieval.py
    python tools/analysis/benchmark_retrieval.py --skip-compare --large \\
        --json retrieval_large.json
    python tools/analysis/benchmark_retrieval.py --skip-compare \\
        --search 100000 --json search_100k.json
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmcmd.evaluation.retrieval_metric import (
    NO_HIT,
    first_hit_ranks,
    recall_at_k,
)

TOPK = (1, 5, 10, 20, 50)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--json', help='write rows and machine info here')
    parser.add_argument('--queries', type=int, default=10000)
    parser.add_argument('--gallery', type=int, default=10000)
    parser.add_argument('--dim', type=int, default=512)
    parser.add_argument('--classes', type=int, default=101)
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs per chunked row; the median is reported')
    parser.add_argument('--reference-repeat', type=int, default=1,
                        help='runs of the (slow) reference row')
    parser.add_argument('--chunk-size', type=int,
                        help='queries per block (default: the metric\'s)')
    parser.add_argument('--skip-compare', action='store_true',
                        help='skip the reference comparison rows')
    parser.add_argument('--large', action='store_true',
                        help='also time the large problem (minutes)')
    parser.add_argument('--large-queries', type=int, default=20000)
    parser.add_argument('--large-gallery', type=int, default=240000)
    parser.add_argument('--large-dim', type=int, default=2048)
    parser.add_argument('--large-classes', type=int, default=400)
    parser.add_argument('--search', type=int, default=0, metavar='N',
                        help='also time search over a collection of N '
                        'embeddings (rows search_*; 0: no)')
    parser.add_argument('--search-dim', type=int, default=512)
    parser.add_argument('--search-queries', type=int, default=1000)
    parser.add_argument('--search-clusters', type=int, default=1000)
    parser.add_argument('--search-k', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def sort_first_hit_ranks(query: np.ndarray, query_labels: np.ndarray,
                         gallery: np.ndarray, gallery_labels: np.ndarray
                         ) -> np.ndarray:
    """Reference first-hit ranks: float64 cosines, stable full sort."""
    query = np.asarray(query, dtype=np.float64)
    gallery = np.asarray(gallery, dtype=np.float64)
    query = query / np.maximum(
        np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    gallery = gallery / np.maximum(
        np.linalg.norm(gallery, axis=1, keepdims=True), 1e-12)
    order = np.argsort(-(query @ gallery.T), axis=1, kind='stable')
    hits = gallery_labels[order] == query_labels[:, None]
    return np.where(hits.any(axis=1), hits.argmax(axis=1), NO_HIT)


def sort_recall_at_k(query: np.ndarray, query_labels: np.ndarray,
                     gallery: np.ndarray, gallery_labels: np.ndarray,
                     topk: Sequence[int] = TOPK) -> Dict[str, float]:
    """Reference R@k by sorting the whole similarity matrix."""
    ranks = sort_first_hit_ranks(query, query_labels, gallery,
                                 gallery_labels)
    return {f'R@{k}': float(np.mean(ranks < k)) for k in topk}


def measured(work: Callable[[], object], repeat: int
             ) -> Tuple[object, float, float, float]:
    """(result, median wall seconds, median CPU seconds of this process
    (all threads), peak MB allocated by ``work`` beyond what was allocated
    before it)."""
    walls, cpus, peaks, result = [], [], [], None
    for _ in range(max(repeat, 1)):
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
        peaks.append((tracemalloc.get_traced_memory()[1] - base) / 2**20)
        tracemalloc.stop()
    return result, float(np.median(walls)), float(np.median(cpus)), \
        max(peaks)


def problem(queries: int, gallery: int, dim: int, classes: int,
            seed: int) -> Tuple[np.ndarray, ...]:
    """Random float32 embeddings and labels."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((queries, dim), dtype=np.float32),
            rng.integers(0, classes, queries),
            rng.standard_normal((gallery, dim), dtype=np.float32),
            rng.integers(0, classes, gallery))


def compare_rows(args: argparse.Namespace) -> List[dict]:
    """Reference vs chunked metric on the same problem."""
    data = problem(args.queries, args.gallery, args.dim, args.classes,
                   args.seed)
    rows = []
    reference, ref_s, ref_cpu, ref_mb = measured(
        lambda: sort_first_hit_ranks(*data), args.reference_repeat)
    ref_recall = {f'R@{k}': float(np.mean(reference < k)) for k in TOPK}
    rows += [dict(name='sort_float64', value=ref_s, unit='s'),
             dict(name='sort_float64_cpu', value=ref_cpu, unit='s'),
             dict(name='sort_float64_peak_memory', value=ref_mb, unit='MB')]
    limit = max(TOPK)
    cases = [('chunked_float32', 'float32', limit),
             ('chunked_float32_all_ranks', 'float32', None),
             ('chunked_float64', 'float64', limit)]
    for name, precision, cap in cases:
        ranks, seconds, cpu, peak = measured(
            lambda: first_hit_ranks(*data, chunk_size=args.chunk_size,
                                    precision=precision, limit=cap),
            args.repeat)
        recall = {f'R@{k}': float(np.mean(ranks < k)) for k in TOPK}
        expected = reference if cap is None else np.where(
            reference == NO_HIT, NO_HIT, np.minimum(reference, cap))
        suffix = name[len('chunked_'):]
        rows += [
            dict(name=name, value=seconds, unit='s'),
            dict(name=f'{name}_cpu', value=cpu, unit='s'),
            dict(name=f'{name}_peak_memory', value=peak, unit='MB'),
            dict(name=f'speedup_{suffix}', value=ref_s / seconds, unit='x'),
            dict(name=f'cpu_speedup_{suffix}', value=ref_cpu / cpu,
                 unit='x'),
            dict(name=f'{name}_ranks_differing',
                 value=int(np.count_nonzero(ranks != expected)),
                 unit='queries'),
            dict(name=f'{name}_recall_identical',
                 value=int(recall == ref_recall), unit='flag')]
    return rows


def large_rows(args: argparse.Namespace) -> List[dict]:
    """The chunked metric alone on the large problem."""
    data = problem(args.large_queries, args.large_gallery, args.large_dim,
                   args.large_classes, args.seed)
    inputs_mb = (data[0].nbytes + data[2].nbytes) / 2**20
    recall, seconds, cpu, peak = measured(
        lambda: recall_at_k(*data, TOPK, chunk_size=args.chunk_size), 1)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [dict(name='large_chunked_float32', value=seconds, unit='s'),
            dict(name='large_chunked_float32_cpu', value=cpu, unit='s'),
            dict(name='large_peak_memory', value=peak, unit='MB'),
            dict(name='large_inputs', value=inputs_mb, unit='MB'),
            dict(name='large_process_max_rss', value=rss_mb, unit='MB'),
            dict(name='large_R@1', value=recall['R@1'], unit='fraction')]


def clustered(count: int, centres: np.ndarray, rng: np.random.Generator
              ) -> np.ndarray:
    """``count`` vectors: a random centre each plus Gaussian noise."""
    noise = rng.standard_normal((count, centres.shape[1]), dtype=np.float32)
    return centres[rng.integers(0, len(centres), count)] + 0.5 * noise


def search_rows(args: argparse.Namespace) -> List[dict]:
    """EmbeddingGallery (tools/search.py) on N clustered embeddings."""
    from mmcmd.apis.search import EmbeddingGallery
    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((args.search_clusters, args.search_dim),
                                  dtype=np.float32)
    vectors = clustered(args.search, centres, rng)
    queries = clustered(args.search_queries, centres, rng)
    paths = [f'video_{i:07d}.mp4' for i in range(args.search)]
    k = args.search_k
    rows: List[dict] = []

    def timed(name: str, work: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = work()
        rows.append(dict(name=name, value=time.perf_counter() - start,
                         unit='s'))
        return result

    exact = timed('search_numpy_build', lambda: EmbeddingGallery(
        vectors, paths, use_faiss=False))
    _, numpy_rows = timed('search_numpy_query',
                          lambda: exact.topk(queries, k))
    flat = timed('search_faiss_flat_build', lambda: EmbeddingGallery(
        vectors, paths, use_faiss=True))
    _, flat_rows = timed('search_faiss_flat_query',
                         lambda: flat.topk(queries, k))
    rows.append(dict(name='search_flat_same_neighbours',
                     value=int(np.array_equal(numpy_rows, flat_rows)),
                     unit='flag'))
    ivf = timed('search_faiss_ivf_train', lambda: EmbeddingGallery(
        vectors, paths, use_faiss=True, index='ivf'))
    _, ivf_rows = timed('search_faiss_ivf_query',
                        lambda: ivf.topk(queries, k))
    found = sum(len(set(a) & set(b)) for a, b in zip(numpy_rows, ivf_rows))
    rows += [dict(name='search_ivf_recall_at_k',
                  value=found / numpy_rows.size, unit='fraction'),
             dict(name='search_ivf_nlist', value=ivf.nlist, unit='cells'),
             dict(name='search_ivf_nprobe', value=ivf.nprobe, unit='cells'),
             dict(name='search_collection', value=args.search,
                  unit='videos'),
             dict(name='search_queries', value=args.search_queries,
                  unit='queries')]
    for name in ('numpy', 'faiss_flat', 'faiss_ivf'):
        seconds = next(r['value'] for r in rows
                       if r['name'] == f'search_{name}_query')
        rows.append(dict(name=f'search_{name}_ms_per_query',
                         value=1000 * seconds / args.search_queries,
                         unit='ms'))
    return rows


def machine_info() -> Dict[str, object]:
    """Where the numbers were measured."""
    return dict(platform=platform.platform(), processor=platform.processor()
                or platform.machine(), cpu_count=os.cpu_count(),
                affinity=len(os.sched_getaffinity(0))
                if hasattr(os, 'sched_getaffinity') else None,
                python=platform.python_version(), numpy=np.__version__,
                blas_threads_env={k: os.environ[k] for k in (
                    'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS',
                    'MKL_NUM_THREADS') if k in os.environ},
                date=datetime.date.today().isoformat())


def main(argv: Optional[List[str]] = None) -> int:
    """Print the rows; write them with machine info to ``--json``."""
    args = parse_args(argv)
    rows = [] if args.skip_compare else compare_rows(args)
    if args.large:
        rows += large_rows(args)
    if args.search:
        rows += search_rows(args)
    for row in rows:
        print(f"{row['name']:34s} {row['value']:12.4g} {row['unit']}")
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != 'json'}
        with open(args.json, 'w') as f:
            json.dump(dict(machine=machine_info(), config=config, rows=rows),
                      f, indent=1)
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
