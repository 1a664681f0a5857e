"""Nearest videos of a gallery by cosine similarity of their embeddings.

    python tools/search.py work_dirs/ucf101_emb --video query.mp4 -k 5
    python tools/search.py work_dirs/ucf101_emb --index-of data/a.mp4
    python tools/search.py work_dirs/ucf101_emb --embedding query.npy
    python tools/search.py work_dirs/big_emb --index ivf [--nlist 4096]

The gallery is what tools/extract_embeddings.py wrote (PREFIX.npy +
PREFIX.index.txt). ``--video`` embeds the query with ``--config`` and
``--checkpoint`` (default: those recorded in PREFIX.meta.json);
``--embedding`` takes one vector (D,) or several (N, D). Prints
``rank score path`` lines, best first (a ``# query i`` line before each
query's block when there are several).

Search is exact by default (faiss IndexFlatIP when installed, else numpy).
``--index ivf`` uses a faiss IVF index for large collections: trained once,
saved as PREFIX.ivf<nlist>.faiss and reloaded while PREFIX.npy is unchanged;
its recall@k against exact search is measured and printed. Without a query
the tool only builds (or checks) the index and prints that summary.
Exit codes: 0 success, 1 bad gallery, query or index, 2 bad arguments.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional

import numpy as np

from mmcmd.apis.search import EmbeddingGallery
from mmcmd.codec.errors import CodecError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=__doc__.split('\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('gallery', help='prefix of PREFIX.npy and '
                        'PREFIX.index.txt')
    query = parser.add_mutually_exclusive_group()
    query.add_argument('--video', help='embed this video as the query')
    query.add_argument('--embedding', help='.npy file holding one vector '
                       '(D,) or several (N, D)')
    query.add_argument('--index-of', help='a gallery video (it is left out '
                       'of the results)')
    parser.add_argument('--config', help='embedding config for --video')
    parser.add_argument('--checkpoint', help='checkpoint for --video')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('-k', type=int, default=10, help='results to print')
    parser.add_argument('--index', choices=('flat', 'ivf'), default='flat',
                        help='flat: exact (default); ivf: approximate faiss '
                        'IVF index for large collections')
    parser.add_argument('--nlist', type=int, help='IVF cells (default about '
                        '4 sqrt(N))')
    parser.add_argument('--nprobe', type=int, help='IVF cells searched per '
                        'query (default max(8, nlist / 16))')
    parser.add_argument('--rebuild-index', action='store_true',
                        help='train the IVF index again even if a saved one '
                        'matches PREFIX.npy')
    parser.add_argument('--recall-samples', type=int, default=1000,
                        help='gallery videos used as queries to measure IVF '
                        'recall@k (default 1000)')
    parser.add_argument('--numpy', action='store_true',
                        help='exact search with numpy even if faiss is '
                        'installed')
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error(f'-k must be >= 1, got {args.k}')
    if args.numpy and args.index == 'ivf':
        parser.error('--numpy searches exactly; it cannot use --index ivf')
    return args


def gallery_meta(prefix: str) -> dict:
    """PREFIX.meta.json, or {} when absent."""
    path = prefix + '.meta.json'
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def read_query_file(path: str) -> np.ndarray:
    """Vectors of an ``.npy`` query file: (D,) or (N, D), float32."""
    query = np.load(path)
    if query.ndim not in (1, 2) or query.size == 0:
        raise ValueError(f'{path!r} holds an array of shape {query.shape}; '
                         'save one embedding (D,) or several (N, D)')
    return query.astype(np.float32)


def embed_query(args: argparse.Namespace, prefix: str) -> np.ndarray:
    """Embedding of ``args.video`` with the gallery's config/checkpoint."""
    meta = gallery_meta(prefix)
    config = args.config or meta.get('config')
    checkpoint = args.checkpoint or meta.get('checkpoint')
    if not config or not checkpoint:
        raise ValueError('--video needs --config and --checkpoint '
                         f'(none recorded in {prefix}.meta.json)')
    from mmcmd.apis import embed_video, init_embedder
    model = init_embedder(config, checkpoint, device=args.device)
    return embed_video(model, args.video)


def main(argv: Optional[List[str]] = None) -> int:
    """Print the top-k; 1 with a message on a bad query, gallery or index."""
    args = parse_args(argv)
    prefix = args.gallery[:-4] if args.gallery.endswith('.npy') \
        else args.gallery
    try:
        gallery = EmbeddingGallery.load(
            prefix, use_faiss=False if args.numpy else None, index=args.index,
            nlist=args.nlist, nprobe=args.nprobe, rebuild=args.rebuild_index)
        print(f'# {gallery.describe()}')
        if args.index == 'ivf':
            recall = gallery.ivf_recall(args.k, args.recall_samples)
            state = 'loaded' if gallery.index_loaded else 'trained, saved'
            print(f'# IVF index {state}: {gallery.index_file}')
            print(f'# IVF recall@{args.k} vs exact search: {recall:.4f} '
                  f'({min(args.recall_samples, len(gallery))} gallery '
                  'videos as queries)')
        if args.index_of:
            results = [gallery.search(gallery.vector_of(args.index_of),
                                      args.k, exclude=args.index_of)]
        elif args.embedding:
            results = gallery.search_batch(read_query_file(args.embedding),
                                           args.k)
        elif args.video:
            results = gallery.search_batch(embed_query(args, prefix), args.k)
        else:
            return 0
    except (OSError, KeyError, ValueError, ImportError, RuntimeError,
            CodecError) as error:
        message = (error.args[0] if isinstance(error, KeyError)
                   and error.args else str(error))
        print(f'error: {message}', file=sys.stderr)
        return 1
    for number, hits in enumerate(results):
        if len(results) > 1:
            print(f'# query {number}')
        for rank, (path, score) in enumerate(hits, start=1):
            print(f'{rank}\t{score:.4f}\t{path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
