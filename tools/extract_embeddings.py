"""Embed many videos: OUT.npy (N, D) float32 + OUT.index.txt (one path a row).

    python tools/extract_embeddings.py \
        configs/embedding/embedding_r2plus1d-26_112px.py CKPT \
        --videos data/ucf101/videos --out work_dirs/ucf101_emb

Resumable: rows are flushed to OUT.partial.* after every batch, and a rerun
skips videos already done. Unreadable videos are skipped and listed with the
reason in OUT.failed.txt (exit code 0). ``--launcher pytorch`` (torchrun)
shards the videos over ranks; rank 0 merges the parts in input order.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import List, Optional, Tuple

try:
    import mmcmd  # noqa: F401
except ImportError:  # running from a checkout without pip install
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mmcmd.apis import embed_clips, init_embedder  # noqa: E402
from mmcmd.apis.extraction import (ResultStore, VideoClipsDataset,  # noqa
                                   collate_videos, find_videos, load_final,
                                   read_video_list, stack_clips,
                                   strip_prefix, write_outputs)
from mmcmd.apis.search import read_index_file  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='embedding config '
                        '(configs/embedding/*.py)')
    parser.add_argument('checkpoint', help='checkpoint with the backbone')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--videos', help='folder searched recursively')
    source.add_argument('--list', help='text file, one video path a line')
    parser.add_argument('--root', help='folder the --list paths are under')
    parser.add_argument('--out', required=True,
                        help='output prefix: OUT.npy, OUT.index.txt, ...')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='videos per forward pass')
    parser.add_argument('--workers', type=int, default=2,
                        help='dataloader worker processes (decoding)')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda'")
    parser.add_argument('--normalize', action='store_true',
                        help='L2-normalise the embeddings')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, e.g. embedding.num_clips=5')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='pytorch: one process per rank '
                        '(torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def init_dist(args: argparse.Namespace) -> Tuple[int, int]:
    """(rank, world size); initialises torch.distributed for 'pytorch'."""
    if args.launcher == 'none':
        return 0, 1
    import torch.distributed as dist
    backend = 'nccl' if args.device.startswith('cuda') else 'gloo'
    dist.init_process_group(backend=backend)
    if args.device.startswith('cuda'):
        local = int(os.environ.get('LOCAL_RANK', args.local_rank))
        args.device = f'cuda:{local}'
        torch.cuda.set_device(local)
    return dist.get_rank(), dist.get_world_size()


def extract(model: torch.nn.Module, paths: List[str], prefix: str,
            meta: dict, args: argparse.Namespace, rank: int,
            known: Optional[dict] = None) -> Tuple[int, List[Tuple[str, str]]]:
    """Embed ``paths`` into the store at ``prefix`` (``known``: path ->
    vector done elsewhere); return (rows, failures)."""
    store = ResultStore(prefix, meta)
    store.done.update(known or {})
    todo = [p for p in paths if p not in store.done]
    skipped = len(paths) - len(todo)
    if skipped:
        print(f'[rank {rank}] resuming {prefix}: skipping {skipped} done, '
              f'{len(todo)} to embed', flush=True)
    failures: List[Tuple[str, str]] = []
    loader = DataLoader(VideoClipsDataset(todo, model.embedding_cfg),
                        batch_size=args.batch_size,
                        num_workers=args.workers, collate_fn=collate_videos)
    with tqdm(total=len(todo), desc=f'embedding (rank {rank})',
              unit='video', disable=not todo, position=rank) as bar:
        for items in loader:
            failures += [(it['path'], it['error']) for it in items
                         if it['error'] is not None]
            good, clips = stack_clips(items)
            if clips is not None:
                vectors = embed_clips(model, clips, meta['normalize'])
                store.add(good, vectors.cpu().numpy())
            bar.update(len(items))
    return store.finalize(paths, failures), failures


def merge_ranks(out: str, paths: List[str], world: int, meta: dict) -> int:
    """Rank 0: merge OUT.rank*.{npy,index.txt,failed.txt} in input order."""
    done, failures, dim = load_final(out), [], meta.get('dim')
    for rank in range(world):
        part = f'{out}.rank{rank}'
        done.update(load_final(part))
        failed = part + '.failed.txt'
        if osp.isfile(failed):
            failures += [tuple(line.split('\t', 1))
                         for line in read_index_file(failed)]
        for suffix in ('.npy', '.index.txt', '.failed.txt', '.meta.json'):
            if osp.isfile(part + suffix):
                os.remove(part + suffix)
    if dim is None and done:
        dim = int(next(iter(done.values())).shape[0])
    return write_outputs(out, done, paths, failures, dict(meta, dim=dim))


def main(argv: Optional[List[str]] = None) -> int:
    """Run the extraction; 0 even when some videos failed."""
    args = parse_args(argv)
    rank, world = init_dist(args)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    paths = (find_videos(args.videos) if args.videos
             else read_video_list(args.list, args.root))
    if not paths:
        print(f'error: no videos found in {args.videos or args.list}',
              file=sys.stderr)
        return 1
    out = strip_prefix(args.out)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    model = init_embedder(cfg, args.checkpoint, device=args.device)
    normalize = bool(args.normalize or model.embedding_cfg.normalize)
    meta = dict(config=osp.abspath(args.config),
                checkpoint=osp.abspath(args.checkpoint), normalize=normalize,
                settings=dict(model.embedding_cfg.to_dict(),
                              normalize=normalize))
    start = time.time()
    mine = paths[rank::world]
    prefix = out if world == 1 else f'{out}.rank{rank}'
    # With ranks, each also skips what a finished earlier run holds.
    known = load_final(out) if world > 1 else None
    try:
        count, failures = extract(model, mine, prefix, meta, args, rank,
                                  known)
    except ValueError as error:  # outputs of another setting are in the way
        print(f'error: {error}', file=sys.stderr)
        return 1
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
        if rank == 0:
            count = merge_ranks(out, paths, world, meta)
            failures = [tuple(line.split('\t', 1)) for line in
                        read_index_file(out + '.failed.txt')]
        dist.barrier()
        dist.destroy_process_group()
    if rank == 0:
        print(f'done in {time.time() - start:.1f} s: {count} of {len(paths)} '
              f'videos embedded -> {out}.npy, {out}.index.txt; '
              f'{len(failures)} failed' +
              (f' (listed in {out}.failed.txt)' if failures else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
