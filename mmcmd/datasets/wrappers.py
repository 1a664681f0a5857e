"""A dataset wrapper that survives broken videos."""
from __future__ import annotations

import copy
from typing import Any, List, Tuple, Union

import numpy as np
from mmaction.registry import DATASETS
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger


@DATASETS.register_module()
class SkipBadVideos:
    """Replace a sample that fails to load with another, deterministically.

    One corrupt file must not stop a week-long pretraining. When loading
    sample ``idx`` raises, the wrapper logs the file once (per process),
    tries the samples drawn from a generator seeded by ``(seed, idx,
    attempt)``, and records what it skipped in the returned data sample's
    meta field ``skipped_videos`` (a list of ``(path, reason)``).
    :class:`mmcmd.engine.BadVideoMonitorHook` counts those per epoch, shows
    them in the log and stops the run when their share passes its
    threshold.

    Args:
        dataset: the wrapped dataset or its config.
        max_attempts: replacement samples tried before giving up.
        seed: seed of the replacement choice.
    """

    def __init__(self, dataset: Union[BaseDataset, dict],
                 max_attempts: int = 20, seed: int = 0) -> None:
        self.dataset = (DATASETS.build(dataset) if isinstance(dataset, dict)
                        else dataset)
        self.max_attempts = max_attempts
        self.seed = seed
        self._reported: set = set()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    def video_path(self, idx: int) -> str:
        """The file behind sample ``idx`` (for messages)."""
        info = self.dataset.get_data_info(idx)
        return str(info.get('filename', info.get('frame_dir', f'#{idx}')))

    def replacement(self, idx: int, attempt: int) -> int:
        """The sample tried instead of ``idx`` at ``attempt`` (0-based)."""
        rng = np.random.default_rng((self.seed, idx, attempt))
        return int(rng.integers(len(self.dataset)))

    def __getitem__(self, idx: int) -> Any:
        skipped: List[Tuple[str, str]] = []
        current = idx
        for attempt in range(self.max_attempts + 1):
            try:
                data = self.dataset[current]
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as error:  # any decoder or transform failure
                path = self.video_path(current)
                reason = f'{type(error).__name__}: {error}'
                skipped.append((path, reason))
                if path not in self._reported:
                    self._reported.add(path)
                    MMLogger.get_current_instance().warning(
                        f'skipping bad video {path}: {reason}')
                current = self.replacement(idx, attempt)
                continue
            samples = data.get('data_samples') if isinstance(data,
                                                             dict) else None
            if samples is not None and hasattr(samples, 'set_metainfo'):
                samples.set_metainfo(dict(skipped_videos=skipped))
            return data
        raise RuntimeError(
            f'SkipBadVideos: sample {idx} and {self.max_attempts} '
            f'replacements all failed to load, e.g. {skipped[-1][0]}: '
            f'{skipped[-1][1]}. Check the data with '
            'tools/analysis/check_videos.py.')
