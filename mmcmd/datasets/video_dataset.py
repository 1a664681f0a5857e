"""Bad-video skipping and short-video dropping as options of the dataset."""
from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.logging import MMLogger

from mmcmd.codec import CodecError, CompressedVideo

SKIP_DEFAULTS = dict(max_attempts=20, seed=0)
#: values of ``short_videos``.
SHORT_VIDEO_MODES = ('loop', 'drop')


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


def count_frames(path: str, budget_s: Optional[float] = 60.0) -> int:
    """Frames of the video at ``path``, counted from its packets.

    The frame index of :class:`mmcmd.codec.CompressedVideo` (demuxing, no
    decoding), so the count equals the ``total_frames`` that
    ``CompressedVideoInit`` gives the sampler.
    """
    with CompressedVideo(path, decode_budget_s=budget_s) as video:
        return video.num_frames


def _stamp(path: str) -> Optional[List[int]]:
    """[size in bytes, mtime in ns] of ``path``; None when it is missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [int(stat.st_size), int(stat.st_mtime_ns)]


def _count_or_none(path: str) -> Optional[int]:
    try:
        return count_frames(path)
    except CodecError:
        return None


def _read_cache(cache_file: Optional[str]) -> Dict[str, list]:
    if not cache_file or not os.path.isfile(cache_file):
        return {}
    try:
        with open(cache_file) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(cache_file: str, cache: Dict[str, list]) -> None:
    temporary = f'{cache_file}.{os.getpid()}.tmp'
    try:
        with open(temporary, 'w') as f:
            json.dump(cache, f)
        os.replace(temporary, cache_file)
    except OSError as error:
        MMLogger.get_current_instance().info(
            f'frame counts not cached ({cache_file}: {error})')


def cached_frame_counts(paths: Sequence[str],
                        cache_file: Optional[str] = None
                        ) -> Dict[str, Optional[int]]:
    """Frame count of every path (None where the file cannot be read).

    ``cache_file`` (JSON) keeps ``path -> [bytes, mtime_ns, frames]``: a
    file whose size and modification time are unchanged is not opened
    again; unreadable files are not cached. Under torch.distributed every
    rank must call this with the same paths: the files no rank has cached
    are split among the ranks, the counts are gathered, and local rank 0
    of each machine rewrites the cache (atomically; ``LOCAL_RANK`` from the
    environment, the global rank without it).
    """
    cache = _read_cache(cache_file)
    counts: Dict[str, Optional[int]] = {}
    missing: Dict[str, List[int]] = {}
    for path in paths:
        stamp = _stamp(path)
        entry = cache.get(path)
        if stamp is None:
            counts[path] = None
        elif entry is not None and list(entry[:2]) == stamp:
            counts[path] = int(entry[2])
        else:
            missing[path] = stamp
    rank, world = get_dist_info()
    # rank on this machine: LOCAL_RANK of torchrun / mmengine's launchers
    local_rank = int(os.environ.get('LOCAL_RANK', rank))
    if world > 1:  # the same work list on every rank, whatever its cache
        todo = sorted(set().union(*all_gather_object(sorted(missing))))
        mine = {path: _count_or_none(path) for path in todo[rank::world]}
        found: Dict[str, Optional[int]] = {}
        for part in all_gather_object(mine):
            found.update(part)
    else:
        found = {path: _count_or_none(path) for path in missing}
    for path, count in found.items():
        counts[path] = count
        if count is not None and path in missing:
            cache[path] = missing[path] + [count]
    if cache_file and missing and local_rank == 0:
        _write_cache(cache_file, cache)
    return counts


@DATASETS.register_module()
class CMDVideoDataset(SkipBadVideosMixin, VideoDataset):
    """mmaction2's ``VideoDataset`` with bad-video skipping and short-video
    dropping.

    Everything of ``VideoDataset`` (annotation list ``path label`` per
    line, ``data_prefix=dict(video=ROOT)``, ``delimiter``, ``test_mode``)
    plus ``skip_bad_videos`` (see :class:`SkipBadVideosMixin`), so one
    override key such as ``train_dataloader.dataset.ann_file=...`` reaches
    the list whether or not skipping is on.

    Short videos: with ``short_videos='drop'`` every video with fewer
    frames than ``min_frames`` is removed from the list when the dataset
    is built, as the reference CMD code does (it keeps videos of at least
    71 frames: the 16x4 clip, a 2-frame gap and the 8-frame future
    window), and a warning names how many were dropped and the length.
    Frames are counted from packets by the codec's index (no decoding) and
    cached in ``frame_count_cache``. Files that cannot be read are kept
    (``skip_bad_videos`` deals with them when they are loaded).
    ``'loop'`` keeps them; the sampler then loops their frames.

    Args:
        ann_file: the annotation list.
        pipeline: the data transforms.
        skip_bad_videos: ``dict(max_attempts=20, seed=0)`` replaces a video
            that fails to load; ``None`` (default) lets the error through.
        short_videos: ``'loop'`` (default) or ``'drop'``, see above.
        min_frames: frames a video needs to be kept with ``'drop'``; None
            takes the ``span`` of the pipeline's ``CMDSampleFrames`` (71
            for the reference sampling).
        frame_count_cache: JSON file of cached frame counts; ``'auto'``
            puts it beside the annotation list (``<ann_file>.frames.json``),
            None caches nothing.
        **kwargs: the other arguments of mmaction2's ``VideoDataset``.
    """

    def __init__(self, *args, short_videos: str = 'loop',
                 min_frames: Optional[int] = None,
                 frame_count_cache: Optional[str] = 'auto',
                 **kwargs) -> None:
        if short_videos not in SHORT_VIDEO_MODES:
            raise ValueError(f'short_videos must be one of '
                             f'{SHORT_VIDEO_MODES}, got {short_videos!r}')
        self.short_videos = short_videos
        self.min_frames = min_frames
        self.frame_count_cache = frame_count_cache
        #: files removed as too short (``short_videos='drop'``).
        self.dropped_videos: List[str] = []
        super().__init__(*args, **kwargs)

    def required_frames(self) -> int:
        """Frames a video needs to be kept with ``short_videos='drop'``."""
        if self.min_frames is not None:
            return int(self.min_frames)
        for transform in getattr(self.pipeline, 'transforms', []):
            span = getattr(transform, 'span', None)
            if isinstance(span, int):
                return span
        raise ValueError(
            "short_videos='drop' needs min_frames or a CMDSampleFrames step "
            'in the pipeline (whose span is the length to keep)')

    def _cache_path(self) -> Optional[str]:
        if self.frame_count_cache == 'auto':
            return f'{self.ann_file}.frames.json'
        return self.frame_count_cache

    def filter_data(self) -> List[dict]:
        """The annotation list, without short videos when dropping them."""
        data_list = super().filter_data()
        if self.short_videos != 'drop':
            return data_list
        span = self.required_frames()
        logger = MMLogger.get_current_instance()
        started = time.monotonic()
        counts = cached_frame_counts([info['filename'] for info in data_list],
                                     self._cache_path())
        kept = [info for info in data_list
                if counts[info['filename']] is None or
                counts[info['filename']] >= span]
        self.dropped_videos = [info['filename'] for info in data_list
                               if counts[info['filename']] is not None and
                               counts[info['filename']] < span]
        unreadable = sum(count is None for count in counts.values())
        message = (f'{type(self).__name__}: dropped {len(self.dropped_videos)}'
                   f' of {len(data_list)} videos shorter than {span} frames '
                   f"(short_videos='drop', {self.ann_file}; frames counted "
                   f'in {time.monotonic() - started:.1f} s)')
        if unreadable:
            message += (f'; {unreadable} unreadable files kept for '
                        'skip_bad_videos')
        if data_list and not kept:
            raise ValueError(
                f'{self.ann_file}: all {len(data_list)} videos are shorter '
                f'than the {span} frames a sample spans, so '
                "short_videos='drop' leaves nothing to train on. Use longer "
                "videos, or keep them with --cfg-options "
                "train_dataloader.dataset.short_videos=loop (the future "
                'motion window then wraps to the start of the video).')
        if self.dropped_videos or unreadable:
            logger.warning(message)
        else:
            logger.info(message)
        return kept


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
