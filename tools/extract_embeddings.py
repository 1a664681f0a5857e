"""Embed many videos: OUT.npy (N, D) float32 + OUT.index.txt (one path a row).

    python tools/extract_embeddings.py \
        configs/embedding/embedding_r2plus1d-26_112px.py CKPT \
        --videos data/ucf101/videos --out work_dirs/ucf101_emb
    python tools/extract_embeddings.py CONFIG CKPT \
        --list data/ucf101/ucf101_val_split_1_videos.txt \
        --root data/ucf101/videos --out work_dirs/ucf101_val

List files (--list): a relative path is joined to --root (alias
--data-prefix), else to the list file's own folder: the convention of
every tool reading lists (tools/analysis/check_videos.py,
tools/data/reencode.py, the visualisation tools). For lists written
before this convention, a relative path that does not exist under the
list's folder but does exist under the working directory is still read
from there, and one line on stderr counts such paths.

Every video goes through the config's test_pipeline and the model's
test_step, exactly as in `tools/test.py` with a retrieval config, so the
vectors equal its --dump embeddings and mmcmd.apis.embed_video's.

Other files of OUT: OUT.failed.txt (`path<TAB>reason` of videos that could
not be read; they are skipped), OUT.meta.json (config, checkpoint,
normalize, test_pipeline, dimension). Resumable: rows are flushed to
OUT.partial.f32 / OUT.partial.txt after every batch, and a rerun skips
videos already done. Exit code 0 when at least one video is embedded, 1
when none could be (or on bad arguments). `--launcher pytorch` (torchrun)
shards the videos over ranks; rank 0 merges the parts in input order.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from torch.utils.data import DataLoader
from tqdm import tqdm

from mmcmd.apis import VideoPipelineDataset, embed_samples, init_embedder
from mmcmd.apis.extraction import collate_videos
from mmcmd.apis.search import read_index_file
from mmcmd.utils.config_options import CFG_OPTIONS_HELP, merge_cfg_options
from mmcmd.utils.video_check import VIDEO_EXTENSIONS, find_videos

#: a list line: a path, then optional integer labels (annotation files).
LIST_LINE = re.compile(r'(?P<path>.+?)(?:\s+-?\d+)*')


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the description's layout; show every default that is set."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ''
        if action.default not in (None, False, argparse.SUPPRESS) and \
                '%(default)' not in text:
            text += ' (default: %(default)s)'
        return text


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=HelpFormatter)
    parser.add_argument('config', help='embedding config '
                        '(configs/embedding/*.py) or any config with a '
                        'VideoEmbedder model and a test_pipeline')
    parser.add_argument('checkpoint', help='checkpoint with the backbone '
                        '(ModelScope pytorch_model.pt, mmengine .pth, '
                        'official CMD)')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--videos', help='folder searched recursively for '
                        f'{", ".join(VIDEO_EXTENSIONS)} files')
    source.add_argument('--list', help='text file, one video a line: '
                        '`path` or `path label` (the annotation files of '
                        'tools/data); blank lines and # comments skipped')
    parser.add_argument('--root', '--data-prefix', dest='root',
                        help='folder the relative --list paths are under '
                        "(the dataset video root); unset: the list file's "
                        'own folder (a path found only under the working '
                        'directory is read from there, with a note)')
    parser.add_argument('--out', required=True,
                        help='output prefix: OUT.npy, OUT.index.txt, ...')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='videos per forward pass')
    parser.add_argument('--workers', type=int, default=2,
                        help='dataloader worker processes (decoding)')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda'")
    parser.add_argument('--normalize', action='store_true',
                        help='L2-normalise the embeddings (as '
                        'model.normalize=True)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=CFG_OPTIONS_HELP)
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='pytorch: one process per rank '
                        '(torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ------------------------------------------------------------ inputs ---
def read_video_list(path: str, root: Optional[str] = None,
                    from_cwd: Optional[List[str]] = None) -> List[str]:
    """Paths of a list file: ``path`` or ``path label ...`` lines (trailing
    integer labels dropped), blank lines and ``#`` comments skipped.

    A relative path is joined to ``root`` if given, else to the list
    file's folder; without ``root``, one that does not exist there but
    exists relative to the working directory is kept as written (the old
    convention) and also appended to ``from_cwd`` when given.
    """
    with open(path, encoding='utf-8-sig') as f:
        lines = [line.strip() for line in f]
    paths = [LIST_LINE.fullmatch(line).group('path') for line in lines
             if line and not line.startswith('#')]
    if root:
        return [osp.join(root, p) for p in paths]
    base = osp.dirname(osp.abspath(path))
    out = []
    for entry in paths:
        joined = osp.join(base, entry)
        if not osp.isabs(entry) and not osp.exists(joined) and \
                osp.exists(entry):
            joined = entry
            if from_cwd is not None:
                from_cwd.append(entry)
        out.append(joined)
    return out


# ------------------------------------------------------------ store ---
def strip_prefix(out: str) -> str:
    """Output prefix without a trailing ``.npy``."""
    return out[:-len('.npy')] if out.endswith('.npy') else out


def load_final(prefix: str) -> Dict[str, np.ndarray]:
    """path -> vector of a finished ``prefix.npy`` + ``prefix.index.txt``."""
    npy, index = prefix + '.npy', prefix + '.index.txt'
    if not (osp.isfile(npy) and osp.isfile(index)):
        return {}
    vectors, paths = np.load(npy), read_index_file(index)
    if len(paths) != len(vectors):
        raise ValueError(f'{npy!r} has {len(vectors)} rows but {index!r} '
                         f'{len(paths)} paths; delete both to start afresh')
    return dict(zip(paths, vectors))


def write_outputs(prefix: str, done: Dict[str, np.ndarray],
                  order: Sequence[str], failures: Sequence[Tuple[str, str]],
                  meta: dict) -> int:
    """Final files of ``prefix`` for the videos of ``order`` that are done."""
    paths = [p for p in dict.fromkeys(order) if p in done]
    dim = meta.get('dim') or 0
    rows = (np.stack([done[p] for p in paths]).astype(np.float32)
            if paths else np.zeros((0, dim), np.float32))
    np.save(prefix + '.npy', rows)
    with open(prefix + '.index.txt', 'w', encoding='utf-8') as f:
        f.write(''.join(p + '\n' for p in paths))
    with open(prefix + '.failed.txt', 'w', encoding='utf-8') as f:
        f.write(''.join(f'{p}\t{" ".join(r.split())}\n' for p, r in failures))
    with open(prefix + '.meta.json', 'w', encoding='utf-8') as f:
        json.dump(dict(meta, count=len(paths)), f, indent=1)
    for suffix in ('.partial.f32', '.partial.txt'):
        if osp.exists(prefix + suffix):
            os.remove(prefix + suffix)
    return len(paths)


class ResultStore:
    """Embeddings done so far under ``prefix``: finished + partial files.

    Args:
        prefix: output prefix.
        meta: what the vectors depend on (config, checkpoint, normalize,
            test_pipeline); outputs written with other values are refused.
    """

    CHECKED = ('config', 'checkpoint', 'normalize', 'test_pipeline')

    def __init__(self, prefix: str, meta: dict) -> None:
        self.prefix = prefix
        self.meta = dict(meta)
        self.done: Dict[str, np.ndarray] = {}
        self._check_meta()
        self.done.update(load_final(prefix))
        self.done.update(self._load_partial())
        self._rows = None
        self._paths = None

    @property
    def dim(self) -> Optional[int]:
        """Embedding dimension, once known."""
        return self.meta.get('dim')

    def _check_meta(self) -> None:
        path = self.prefix + '.meta.json'
        if not osp.isfile(path):
            return
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
        for key in self.CHECKED:
            if key in self.meta and old.get(key) != self.meta[key]:
                raise ValueError(
                    f'{path!r} was written with another {key} '
                    f'({old.get(key)!r}) than this run '
                    f'({self.meta[key]!r}); use another --out or delete the '
                    'old outputs')
        if old.get('dim') is not None:
            self.meta['dim'] = old['dim']

    def _load_partial(self) -> Dict[str, np.ndarray]:
        """Consistent rows of the partial files (a torn tail is cut off)."""
        rows_path, paths_path = (self.prefix + '.partial.f32',
                                 self.prefix + '.partial.txt')
        if self.dim is None or not osp.isfile(paths_path) or \
                not osp.isfile(rows_path):
            return {}
        with open(paths_path, encoding='utf-8') as f:
            lines = f.read().split('\n')[:-1]  # a torn last line has no \n
        raw = np.fromfile(rows_path, dtype=np.float32)
        count = min(len(lines), raw.size // self.dim)
        vectors = raw[:count * self.dim].reshape(count, self.dim)
        return dict(zip(lines[:count], vectors))

    def _open_partial(self) -> None:
        """Rewrite the partial files with every row done, then append."""
        with open(self.prefix + '.meta.json', 'w', encoding='utf-8') as f:
            json.dump(self.meta, f, indent=1)
        paths = list(self.done)
        rows = (np.stack([self.done[p] for p in paths]).astype(np.float32)
                if paths else np.zeros((0, self.dim), np.float32))
        rows.tofile(self.prefix + '.partial.f32')
        with open(self.prefix + '.partial.txt', 'w', encoding='utf-8') as f:
            f.write(''.join(p + '\n' for p in paths))
        self._rows = open(self.prefix + '.partial.f32', 'ab')
        self._paths = open(self.prefix + '.partial.txt', 'a', encoding='utf-8')

    def add(self, paths: Sequence[str], vectors: np.ndarray) -> None:
        """Record embeddings (rows of ``vectors``) and flush them to disk."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.dim is None:
            self.meta['dim'] = int(vectors.shape[1])
        if self._rows is None:
            self._open_partial()
        for path, vector in zip(paths, vectors):
            self.done[path] = vector
        self._rows.write(vectors.tobytes())
        self._rows.flush()
        self._paths.write(''.join(p + '\n' for p in paths))
        self._paths.flush()

    def close(self) -> None:
        """Close the partial files (they stay on disk)."""
        for f in (self._rows, self._paths):
            if f is not None:
                f.close()
        self._rows = self._paths = None

    def finalize(self, order: Sequence[str],
                 failures: Sequence[Tuple[str, str]]) -> int:
        """Write ``prefix.npy`` / ``.index.txt`` / ``.failed.txt`` in input
        order, remove the partial files; return the number of rows."""
        self.close()
        return write_outputs(self.prefix, self.done, order, failures,
                             self.meta)


# ------------------------------------------------------------- run ---
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
    loader = DataLoader(VideoPipelineDataset(todo, model.cfg),
                        batch_size=args.batch_size,
                        num_workers=args.workers, collate_fn=collate_videos)
    with tqdm(total=len(todo), desc=f'embedding (rank {rank})',
              unit='video', disable=not todo, position=rank) as bar:
        for items in loader:
            failures += [(it['path'], it['error']) for it in items
                         if it['error'] is not None]
            good = [it for it in items if it['sample'] is not None]
            if good:
                vectors = embed_samples(model, [it['sample'] for it in good])
                store.add([it['path'] for it in good], vectors)
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


def run_meta(args: argparse.Namespace, cfg: Config, normalize: bool) -> dict:
    """What the vectors depend on, as JSON values (compared on resume)."""
    return json.loads(json.dumps(dict(
        config=osp.abspath(args.config),
        checkpoint=osp.abspath(args.checkpoint), normalize=normalize,
        test_pipeline=list(cfg.test_pipeline))))


def main(argv: Optional[List[str]] = None) -> int:
    """Run the extraction; 1 when no video could be embedded."""
    args = parse_args(argv)
    rank, world = init_dist(args)
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    from_cwd: List[str] = []
    try:
        paths = (find_videos(args.videos) if args.videos
                 else read_video_list(args.list, args.root, from_cwd))
    except OSError as error:
        print(f'error: cannot read the video list: {error}', file=sys.stderr)
        return 1
    if not paths:
        print(f'error: no videos found in {args.videos or args.list}',
              file=sys.stderr)
        return 1
    if from_cwd and rank == 0:
        print(f'note: {len(from_cwd)} relative paths of {args.list} are not '
              "under the list's folder but under the working directory and "
              'are read from there; give --root to say where they are',
              file=sys.stderr)
    out = strip_prefix(args.out)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    model = init_embedder(cfg, args.checkpoint, device=args.device)
    model.normalize = bool(args.normalize or model.normalize)
    meta = run_meta(args, cfg, model.normalize)
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
    if rank != 0:
        return 0
    print(f'done in {time.time() - start:.1f} s: {count} of {len(paths)} '
          f'videos embedded -> {out}.npy, {out}.index.txt; '
          f'{len(failures)} failed' +
          (f' (listed in {out}.failed.txt)' if failures else ''))
    if count == 0:
        print(f'error: no video could be embedded; the reasons are in '
              f'{out}.failed.txt', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
