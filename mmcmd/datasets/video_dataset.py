"""Bad-video skipping as an option of the dataset itself."""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np
from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger

SKIP_DEFAULTS = dict(max_attempts=20, seed=0)


def skip_settings(skip_bad_videos: Optional[dict]) -> Optional[dict]:
    """``skip_bad_videos`` checked and completed with the defaults.

    ``None`` or ``False`` switch skipping off, ``True`` or ``dict()`` use
    the defaults ``max_attempts=20, seed=0``.
    """
    if skip_bad_videos is None or skip_bad_videos is False:
        return None
    if skip_bad_videos is True:
        skip_bad_videos = {}
    if not isinstance(skip_bad_videos, dict):
        raise TypeError(
            'skip_bad_videos must be None or a dict such as '
            f'dict(max_attempts=20, seed=0), not {skip_bad_videos!r}')
    unknown = set(skip_bad_videos) - set(SKIP_DEFAULTS)
    if unknown:
        raise TypeError(
            f'skip_bad_videos got unknown keys {sorted(unknown)}; it takes '
            f'{sorted(SKIP_DEFAULTS)}')
    settings = dict(SKIP_DEFAULTS, **skip_bad_videos)
    if int(settings['max_attempts']) < 0:
        raise ValueError('skip_bad_videos.max_attempts must be >= 0, not '
                         f'{settings["max_attempts"]}')
    return settings


class SkipBadVideosMixin:
    """Replace a sample that fails to load with another, deterministically.

    Mixed in before a :class:`mmengine.dataset.BaseDataset` subclass, it
    adds the ``skip_bad_videos`` argument. One corrupt file must not stop a
    week-long pretraining: when loading sample ``idx`` raises, the dataset
    logs the file once (per process), tries the samples drawn from a
    generator seeded by ``(seed, idx, attempt)``, and records what it
    skipped in the returned data sample's meta field ``skipped_videos`` (a
    list of ``(path, "ExceptionType: reason")``, empty when nothing was
    skipped). :class:`mmcmd.engine.BadVideoMonitorHook` counts those per
    epoch, shows them in the log and stops the run when their share passes
    its threshold. After ``max_attempts`` failed replacements it raises a
    ``RuntimeError`` pointing at ``tools/analysis/check_videos.py``.

    Args:
        skip_bad_videos: ``dict(max_attempts=20, seed=0)`` to skip (both
            keys optional: replacement samples tried before giving up, seed
            of the replacement choice); ``None`` loads as the base class
            does and lets errors through.
    """

    def __init__(self, *args, skip_bad_videos: Optional[dict] = None,
                 **kwargs) -> None:
        self.skip_bad_videos = skip_settings(skip_bad_videos)
        self._reported: set = set()
        super().__init__(*args, **kwargs)

    def video_path(self, idx: int) -> str:
        """The file behind sample ``idx`` (for messages)."""
        info = self.get_data_info(idx)
        return str(info.get('filename', info.get('frame_dir', f'#{idx}')))

    def replacement(self, idx: int, attempt: int) -> int:
        """The sample tried instead of ``idx`` at ``attempt`` (0-based)."""
        seed = (self.skip_bad_videos or SKIP_DEFAULTS)['seed']
        rng = np.random.default_rng((seed, idx, attempt))
        return int(rng.integers(len(self)))

    def __getitem__(self, idx: int) -> Any:
        if self.skip_bad_videos is None:
            return super().__getitem__(idx)
        max_attempts = int(self.skip_bad_videos['max_attempts'])
        skipped: List[Tuple[str, str]] = []
        current = idx
        for attempt in range(max_attempts + 1):
            try:
                data = super().__getitem__(current)
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
            samples = (data.get('data_samples')
                       if isinstance(data, dict) else None)
            if samples is not None and hasattr(samples, 'set_metainfo'):
                samples.set_metainfo(dict(skipped_videos=skipped))
            return data
        raise RuntimeError(
            f'{type(self).__name__}: sample {idx} and {max_attempts} '
            f'replacements all failed to load, e.g. {skipped[-1][0]}: '
            f'{skipped[-1][1]}. Check the data with '
            'tools/analysis/check_videos.py.')


@DATASETS.register_module()
class CMDVideoDataset(SkipBadVideosMixin, VideoDataset):
    """mmaction2's ``VideoDataset`` with mmcmd's bad-video skipping.

    Everything of ``VideoDataset`` (annotation list ``path label`` per
    line, ``data_prefix=dict(video=ROOT)``, ``delimiter``, ``test_mode``)
    plus ``skip_bad_videos`` (see :class:`SkipBadVideosMixin`), so one
    override key such as ``train_dataloader.dataset.ann_file=...`` reaches
    the list whether or not skipping is on.

    Args:
        ann_file: the annotation list.
        pipeline: the data transforms.
        skip_bad_videos: ``dict(max_attempts=20, seed=0)`` replaces a video
            that fails to load; ``None`` (default) lets the error through.
        **kwargs: the other arguments of mmaction2's ``VideoDataset``.
    """


@DATASETS.register_module(name='SkipBadVideos')
def skip_bad_videos_wrapper_removed(**kwargs) -> None:
    """Old configs wrapped the dataset; say how to write them now."""
    raise TypeError(
        "The SkipBadVideos dataset wrapper was replaced by the "
        "skip_bad_videos option of CMDVideoDataset: write "
        "dataset=dict(type='CMDVideoDataset', ann_file=..., "
        "data_prefix=..., pipeline=..., skip_bad_videos=dict(max_attempts="
        "20, seed=0)) instead of dataset=dict(type='SkipBadVideos', "
        "dataset=dict(type='VideoDataset', ...)).")
