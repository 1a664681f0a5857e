"""Worker of the 2-process BadVideoMonitorHook test (gloo, CPU).

Loads ``mmcmd/engine/hooks/bad_video_monitor_hook.py`` by path so that each
spawned process imports torch, mmengine and mmaction's registry only.
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist

WORLD = 2
HOOK_FILE = (Path(__file__).resolve().parents[2] / 'mmcmd' / 'engine' /
             'hooks' / 'bad_video_monitor_hook.py')
# Per rank: (skipped videos of each of the 4 samples of one batch).
SKIPS = {0: [0, 1, 0, 0], 1: [2, 0, 1, 0]}
HOOK_MODULE: list = []


def load_hook_module():
    """The hook module, loaded from its file once per process."""
    if HOOK_MODULE:
        return HOOK_MODULE[0]
    spec = importlib.util.spec_from_file_location('_bad_video_hook',
                                                  HOOK_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    HOOK_MODULE.append(module)
    return module


def batch(rank: int) -> dict:
    """4 data samples; sample i lists SKIPS[rank][i] skipped files."""
    from mmengine.structures import BaseDataElement
    samples = []
    for i, count in enumerate(SKIPS[rank]):
        sample = BaseDataElement()
        sample.set_metainfo(dict(skipped_videos=[
            (f'rank{rank}/bad{i}_{k}.mp4', 'VideoOpenError: empty')
            for k in range(count)]))
        samples.append(sample)
    return dict(inputs=None, data_samples=samples)


def one_epoch(rank: int, max_bad_ratio: float) -> dict:
    """One iteration and the epoch end of a fresh hook; what it saw."""
    from mmengine.logging import MessageHub, MMLogger
    hook = load_hook_module().BadVideoMonitorHook(
        max_bad_ratio=max_bad_ratio, min_samples=1, sync_interval=1)
    name = f'{rank}_{max_bad_ratio}'
    runner = SimpleNamespace(
        epoch=0, logger=MMLogger.get_instance(f'hook{name}'),
        message_hub=MessageHub.get_instance(f'hub{name}'))
    hook.before_train_epoch(runner)
    error = None
    try:
        hook.after_train_iter(runner, 0, batch(rank))
    except RuntimeError as caught:
        error = str(caught)
    result = dict(loaded=hook.loaded, skipped=hook.skipped,
                  local_loaded=hook.local_loaded,
                  local_skipped=hook.local_skipped, error=error,
                  logged=int(runner.message_hub.get_scalar(
                      'train/skipped_videos').current()))
    if error is None:
        result['distinct'] = hook.distinct_files()
    return result


def worker(rank: int, init_file: str, out_dir: str, ratios: list) -> None:
    """One rank: one epoch of the hook for each ``max_bad_ratio``."""
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        results = [one_epoch(rank, ratio) for ratio in ratios]
        with open(os.path.join(out_dir, f'{rank}.json'), 'w') as f:
            json.dump(results, f)
    finally:
        dist.destroy_process_group()
