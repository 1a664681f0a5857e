"""Worker of the 2-process frame-count test: each rank has its own cache
file (as on two machines) holding different entries."""
from __future__ import annotations

import json
import os

import torch
import torch.distributed as dist

WORLD = 2


def worker(rank: int, init_file: str, paths: list, out_dir: str) -> None:
    """Count ``paths`` with this rank's cache; save the counts as JSON."""
    torch.set_num_threads(1)
    os.environ['LOCAL_RANK'] = str(rank)  # one machine, two ranks
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        from mmcmd.datasets.video_dataset import cached_frame_counts
        cache = os.path.join(out_dir, f'cache{rank}.json')
        counts = cached_frame_counts(paths, cache)
        with open(os.path.join(out_dir, f'counts{rank}.json'), 'w') as f:
            json.dump(counts, f)
    finally:
        dist.destroy_process_group()
