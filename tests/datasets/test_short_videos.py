"""CMDVideoDataset(short_videos='drop'): videos shorter than the sampler's
span leave the list at build time, with a warning and a frame-count cache;
'loop' keeps them."""
from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

from mmcmd.codec.encode import write_frames
from mmcmd.datasets.video_dataset import CMDVideoDataset

#: frames per written video; the reference sampler needs 71.
LENGTHS = {'a.mp4': 40, 'b.mp4': 71, 'c.mp4': 70, 'd.mp4': 90, 'e.mp4': 12}
PIPELINE = [dict(type='CompressedVideoInit'), dict(type='CMDSampleFrames')]


@pytest.fixture(scope='module')
def video_list(tmp_path_factory):
    """Videos of LENGTHS frames, an unreadable file, and their list."""
    root = tmp_path_factory.mktemp('short_videos')
    rng = np.random.default_rng(0)
    for name, frames in LENGTHS.items():
        write_frames(str(root / 'videos' / name),
                     rng.integers(0, 256, (frames, 16, 16, 3), np.uint8),
                     gop=12)
    (root / 'videos' / 'broken.mp4').write_bytes(b'not a video')
    names = sorted(LENGTHS) + ['broken.mp4']
    (root / 'list.txt').write_text(''.join(f'{n} 0\n' for n in names))
    return root


class Records(logging.Handler):
    """Keeps the records of one logger."""

    def __init__(self) -> None:
        super().__init__()
        self.records = []

    def emit(self, record) -> None:
        self.records.append(record)


def build(root, name: str, **kwargs):
    logger = MMLogger.get_instance(name)
    handler = Records()
    logger.addHandler(handler)
    try:
        with DefaultScope.overwrite_default_scope('mmaction'):
            dataset = DATASETS.build(dict(
                type='CMDVideoDataset', ann_file=str(root / 'list.txt'),
                data_prefix=dict(video=str(root / 'videos')),
                pipeline=PIPELINE, **kwargs))
    finally:
        logger.removeHandler(handler)
    return dataset, handler.records


def names(paths):
    return sorted(os.path.basename(p) for p in paths)


def test_drop_removes_videos_shorter_than_the_span(video_list):
    cache = video_list / 'counts.json'
    dataset, records = build(video_list, 'drop1', short_videos='drop',
                             frame_count_cache=str(cache))
    assert dataset.required_frames() == 71
    kept = [os.path.basename(dataset.get_data_info(i)['filename'])
            for i in range(len(dataset))]
    # 71 and 90 frames stay; 40, 70, 12 go; the unreadable file stays.
    assert sorted(kept) == ['b.mp4', 'broken.mp4', 'd.mp4']
    assert names(dataset.dropped_videos) == ['a.mp4', 'c.mp4', 'e.mp4']
    warnings = [r.getMessage() for r in records
                if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert 'dropped 3 of 6 videos shorter than 71 frames' in warnings[0]
    assert '1 unreadable' in warnings[0]
    counts = {os.path.basename(k): v[2]
              for k, v in json.loads(cache.read_text()).items()}
    assert counts == LENGTHS  # real counts; the broken file is not cached


def test_cache_is_trusted_until_the_file_changes(video_list):
    cache = video_list / 'forged.json'
    build(video_list, 'drop2', short_videos='drop',
          frame_count_cache=str(cache))
    entries = json.loads(cache.read_text())
    long_video = str(video_list / 'videos' / 'd.mp4')
    entries[long_video][2] = 10  # same size and mtime: the cache is used
    cache.write_text(json.dumps(entries))
    dataset, _ = build(video_list, 'drop3', short_videos='drop',
                       frame_count_cache=str(cache))
    assert 'd.mp4' in names(dataset.dropped_videos)
    stat = os.stat(long_video)
    os.utime(long_video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    dataset, _ = build(video_list, 'drop4', short_videos='drop',
                       frame_count_cache=str(cache))
    assert 'd.mp4' not in names(dataset.dropped_videos)
    assert json.loads(cache.read_text())[long_video][2] == 90


def test_min_frames_and_auto_cache(video_list):
    dataset, records = build(video_list, 'drop5', short_videos='drop',
                             min_frames=40)
    assert names(dataset.dropped_videos) == ['e.mp4']
    assert len(dataset) == 5
    assert (video_list / 'list.txt.frames.json').is_file()


def test_loop_keeps_everything_and_counts_nothing(video_list):
    dataset, records = build(video_list, 'loop1', frame_count_cache=None)
    assert dataset.short_videos == 'loop' and len(dataset) == 6
    assert dataset.dropped_videos == []
    assert not [r for r in records if 'dropped' in r.getMessage()]


def test_bad_settings(video_list):
    with pytest.raises(ValueError, match='short_videos'):
        CMDVideoDataset(ann_file=str(video_list / 'list.txt'),
                        pipeline=PIPELINE, short_videos='truncate')
    with pytest.raises(ValueError, match='min_frames'), \
            DefaultScope.overwrite_default_scope('mmaction'):
        DATASETS.build(dict(
            type='CMDVideoDataset', ann_file=str(video_list / 'list.txt'),
            data_prefix=dict(video=str(video_list / 'videos')),
            pipeline=[dict(type='CompressedVideoInit')],
            short_videos='drop', frame_count_cache=None))


@pytest.mark.slow
def test_two_ranks_share_the_counting_and_agree(video_list, tmp_path):
    import torch.multiprocessing as mp
    from short_videos_worker import WORLD, worker

    from mmcmd.datasets.video_dataset import cached_frame_counts
    paths = [str(video_list / 'videos' / name)
             for name in sorted(LENGTHS) + ['broken.mp4']]
    # Rank 0 starts with a cache of the first two videos, rank 1 without.
    cached_frame_counts(paths[:2], str(tmp_path / 'cache0.json'))
    before = (tmp_path / 'cache0.json').read_text()
    mp.spawn(worker, args=(str(tmp_path / 'init'), paths, str(tmp_path)),
             nprocs=WORLD, join=True)
    want = {p: LENGTHS.get(os.path.basename(p)) for p in paths}
    for rank in range(WORLD):
        got = json.loads((tmp_path / f'counts{rank}.json').read_text())
        assert got == want, rank
    # Local rank 0 rewrote its cache with every readable video; rank 1
    # (same machine) wrote none.
    cache = json.loads((tmp_path / 'cache0.json').read_text())
    assert cache != json.loads(before)
    assert {os.path.basename(p): v[2] for p, v in cache.items()} == LENGTHS
    assert not (tmp_path / 'cache1.json').exists()


def test_dropping_every_video_is_a_clear_error(video_list, tmp_path):
    # Only the 40- and 12-frame videos, both below the 71-frame span.
    short = tmp_path / 'short.txt'
    short.write_text('a.mp4 0\ne.mp4 0\n')
    with pytest.raises(ValueError, match=r'all 2 videos are shorter than '
                       r'the 71 frames.*short_videos=loop'), \
            DefaultScope.overwrite_default_scope('mmaction'):
        DATASETS.build(dict(
            type='CMDVideoDataset', ann_file=str(short),
            data_prefix=dict(video=str(video_list / 'videos')),
            pipeline=PIPELINE, short_videos='drop', frame_count_cache=None))
