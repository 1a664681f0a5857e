"""Count the videos that SkipBadVideos replaced; stop when too many."""
from __future__ import annotations

from typing import Optional

from mmaction.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class BadVideoMonitorHook(Hook):
    """Per-epoch count of skipped videos, in the log and the message hub.

    Reads the ``skipped_videos`` meta field that
    :class:`mmcmd.datasets.SkipBadVideos` sets, so counts are right with any
    number of dataloader workers. Logs each bad file once, logs
    ``train/skipped_videos`` every iteration, a summary at each epoch end,
    and raises when the share of skipped loads in an epoch passes
    ``max_bad_ratio`` (after ``min_samples`` loads).

    Args:
        max_bad_ratio: largest tolerated share of bad loads in an epoch.
        min_samples: loads to see before the ratio is enforced.
    """

    priority = 'LOW'

    def __init__(self, max_bad_ratio: float = 0.05,
                 min_samples: int = 100) -> None:
        self.max_bad_ratio = max_bad_ratio
        self.min_samples = min_samples
        self.reported: set = set()
        self._reset()

    def _reset(self) -> None:
        self.loaded = 0
        self.skipped = 0

    def before_train_epoch(self, runner) -> None:
        self._reset()

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        for sample in samples:
            skipped = sample.metainfo.get('skipped_videos', []) if hasattr(
                sample, 'metainfo') else []
            self.loaded += 1 + len(skipped)
            self.skipped += len(skipped)
            for path, reason in skipped:
                if path not in self.reported:
                    self.reported.add(path)
                    runner.logger.warning(f'bad video skipped: {path} '
                                          f'({reason})')
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

    def after_train_epoch(self, runner) -> None:
        runner.logger.info(
            f'epoch {runner.epoch + 1}: skipped {self.skipped} bad video loads '
            f'of {self.loaded} ({len(self.reported)} distinct files so far)')
