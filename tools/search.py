"""Nearest videos of a gallery by cosine similarity of their embeddings.

    python tools/search.py work_dirs/ucf101_emb --video query.mp4 -k 5
    python tools/search.py work_dirs/ucf101_emb --index-of data/a.mp4
    python tools/search.py work_dirs/ucf101_emb --embedding query.npy

The gallery is what tools/extract_embeddings.py wrote (PREFIX.npy +
PREFIX.index.txt). ``--video`` embeds the query with ``--config`` and
``--checkpoint`` (default: those recorded in PREFIX.meta.json). Prints
``rank score path`` lines, best first; faiss is used when installed.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional

try:
    import mmcmd  # noqa: F401
except ImportError:  # running from a checkout without pip install
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

from mmcmd.apis.search import EmbeddingGallery  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('gallery', help='prefix of PREFIX.npy and '
                        'PREFIX.index.txt')
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument('--video', help='embed this video as the query')
    query.add_argument('--embedding', help='.npy file holding one vector')
    query.add_argument('--index-of', help='a gallery video (it is left out '
                       'of the results)')
    parser.add_argument('--config', help='embedding config for --video')
    parser.add_argument('--checkpoint', help='checkpoint for --video')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('-k', type=int, default=10, help='results to print')
    return parser.parse_args(argv)


def gallery_meta(prefix: str) -> dict:
    """PREFIX.meta.json, or {} when absent."""
    path = prefix + '.meta.json'
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def main(argv: Optional[List[str]] = None) -> int:
    """Print the top-k; 1 with a message on a bad query or gallery."""
    args = parse_args(argv)
    prefix = args.gallery[:-4] if args.gallery.endswith('.npy') \
        else args.gallery
    try:
        gallery = EmbeddingGallery.load(prefix)
        exclude = None
        if args.index_of:
            query, exclude = gallery.vector_of(args.index_of), args.index_of
        elif args.embedding:
            query = np.load(args.embedding).astype(np.float32).reshape(-1)
        else:
            meta = gallery_meta(prefix)
            config = args.config or meta.get('config')
            checkpoint = args.checkpoint or meta.get('checkpoint')
            if not config or not checkpoint:
                raise ValueError('--video needs --config and --checkpoint '
                                 f'(none recorded in {prefix}.meta.json)')
            from mmcmd.apis import embed_video, init_embedder
            model = init_embedder(config, checkpoint, device=args.device)
            query = embed_video(model, args.video)
        hits = gallery.search(query, args.k, exclude=exclude)
    except (OSError, KeyError, ValueError) as error:
        message = (error.args[0] if isinstance(error, KeyError)
                   and error.args else str(error))
        print(f'error: {message}', file=sys.stderr)
        return 1
    print(f'# {len(gallery)} videos, cosine similarity ({gallery.backend})')
    for rank, (path, score) in enumerate(hits, start=1):
        print(f'{rank}\t{score:.4f}\t{path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
