"""Count the videos that the dataset skipped; stop when too many."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from mmaction.registry import HOOKS
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook


def count_skips(samples: Sequence) -> Tuple[int, int, list]:
    """Loads, skipped loads and ``(path, reason)`` pairs of one batch.

    A sample whose meta field ``skipped_videos`` lists K failures cost
    K + 1 loads.
    """
    loaded, skipped, pairs = 0, 0, []
    for sample in samples:
        found = (sample.metainfo.get('skipped_videos', [])
                 if hasattr(sample, 'metainfo') else [])
        loaded += 1 + len(found)
        skipped += len(found)
        pairs.extend(found)
    return loaded, skipped, pairs


def sum_over_ranks(*values: int) -> Tuple[int, ...]:
    """Each value summed over every process (unchanged without a group)."""
    if get_world_size() == 1:
        return tuple(int(v) for v in values)
    total = torch.tensor(values, dtype=torch.int64)
    all_reduce(total, op='sum')
    return tuple(int(v) for v in total.tolist())


@HOOKS.register_module()
class BadVideoMonitorHook(Hook):
    """Per-epoch count of skipped videos, in the log and the message hub.

    Reads the ``skipped_videos`` meta field that a dataset with
    ``skip_bad_videos`` set (:class:`mmcmd.datasets.CMDVideoDataset`)
    writes, so counts are right with any number of dataloader workers.
    Logs each bad file once per process, logs ``train/skipped_videos``
    every iteration, a summary at each epoch end, and raises when the
    share of skipped loads in an epoch passes ``max_bad_ratio`` (after
    ``min_samples`` loads). In a multi-process run the counts are summed
    over all processes (one all-reduce of two integers every
    ``sync_interval`` iterations and at the epoch end, not a device
    synchronisation per iteration) before they are logged or compared with
    ``max_bad_ratio``, so every process sees, prints and acts on the same
    totals. A single process compares its own counts every iteration.

    Args:
        max_bad_ratio: largest tolerated share of bad loads in an epoch.
        min_samples: loads (over all processes) to see before the ratio is
            enforced.
        sync_interval: iterations between the all-reduces of a
            multi-process run.
    """

    priority = 'LOW'

    def __init__(self, max_bad_ratio: float = 0.05,
                 min_samples: int = 100, sync_interval: int = 20) -> None:
        if sync_interval < 1:
            raise ValueError(f'sync_interval must be >= 1, got '
                             f'{sync_interval}')
        self.max_bad_ratio = max_bad_ratio
        self.min_samples = min_samples
        self.sync_interval = sync_interval
        self.reported: set = set()
        self._reset()

    def _reset(self) -> None:
        self.local_loaded = 0
        self.local_skipped = 0
        self.loaded = 0  # over all processes
        self.skipped = 0
        self._unsynced = 0  # iterations since the last all-reduce

    def before_train_epoch(self, runner) -> None:
        self._reset()

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        loaded, skipped, pairs = count_skips(samples)
        self.local_loaded += loaded
        self.local_skipped += skipped
        for path, reason in pairs:
            if path not in self.reported:
                self.reported.add(path)
                runner.logger.warning(f'bad video skipped: {path} '
                                      f'({reason})')
        self._unsynced += 1
        if get_world_size() == 1 or self._unsynced >= self.sync_interval:
            self._sync_and_check(runner)
        else:  # the totals of the last all-reduce
            runner.message_hub.update_scalar('train/skipped_videos',
                                             self.skipped)

    def _sync_and_check(self, runner) -> None:
        """Sum the counts over processes; raise past ``max_bad_ratio``."""
        self._unsynced = 0
        self.loaded, self.skipped = sum_over_ranks(self.local_loaded,
                                                   self.local_skipped)
        runner.message_hub.update_scalar('train/skipped_videos',
                                         self.skipped)
        ratio = self.skipped / max(self.loaded, 1)
        if self.loaded >= self.min_samples and ratio > self.max_bad_ratio:
            raise RuntimeError(
                f'{self.skipped} of {self.loaded} video loads failed in '
                f'epoch {runner.epoch + 1} ({ratio:.1%} > max_bad_ratio '
                f'{self.max_bad_ratio:.1%}); the dataset is probably broken. '
                'Run tools/analysis/check_videos.py ANN_FILE --write-clean '
                'CLEAN_ANN and train on the clean list, or raise '
                'BadVideoMonitorHook.max_bad_ratio.')

    def distinct_files(self) -> int:
        """Bad files seen so far by any process."""
        if get_world_size() == 1:
            return len(self.reported)
        seen: set = set()
        for paths in all_gather_object(sorted(self.reported)):
            seen.update(paths)
        return len(seen)

    def after_train_epoch(self, runner) -> None:
        self._sync_and_check(runner)
        runner.logger.info(
            f'epoch {runner.epoch + 1}: skipped {self.skipped} bad video '
            f'loads of {self.loaded} ({self.distinct_files()} distinct files '
            'so far)')
