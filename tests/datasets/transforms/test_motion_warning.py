"""CompressedVideoInit warns once per file whose motion is not exact."""
from __future__ import annotations

import warnings

import pytest

from mmcmd.codec import InexactMotionWarning, stream_info
from mmcmd.codec.samples import write_panning_video
from mmcmd.datasets.transforms.loading import (
    CompressedVideoClose,
    CompressedVideoInit,
)


@pytest.fixture
def videos(tmp_path, monkeypatch):
    """An exact, a multi-reference and an HEVC video; a fresh cache."""
    monkeypatch.setattr(stream_info, '_VERDICTS', {})
    return {
        'exact': write_panning_video(str(tmp_path / 'exact.mp4'), frames=12),
        'refs': write_panning_video(str(tmp_path / 'refs.mp4'), frames=12,
                                    bframes=2, refs=3),
        'hevc': write_panning_video(str(tmp_path / 'hevc.mp4'), frames=8,
                                    codec='hevc', gop=4),
    }


def load(init: CompressedVideoInit, path: str) -> dict:
    results = init(dict(filename=path))
    CompressedVideoClose()(results)
    return results


def test_warns_once_per_inexact_file(videos):
    init = CompressedVideoInit(check_motion=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for _ in range(3):  # three epochs: each file warns once
            for path in videos.values():
                assert load(init, path)['total_frames'] > 0
    messages = [str(w.message) for w in caught
                if issubclass(w.category, InexactMotionWarning)]
    assert len(messages) == 2
    refs, hevc = messages
    assert refs.startswith(videos['refs'] + ': motion approximate: ')
    assert 'max_num_ref_frames 3' in refs
    assert 'python tools/data/reencode.py' in refs
    assert hevc.startswith(videos['hevc'] + ': motion none: hevc exports '
                           'no motion vectors')
    # Judged once: the verdicts are cached by path.
    assert set(stream_info._VERDICTS) == set(videos.values())
    assert stream_info._VERDICTS[videos['exact']].exact


@pytest.mark.parametrize('kwargs', [dict(check_motion=False), {}])
def test_rgb_only_pipelines_can_skip_the_check(videos, kwargs):
    # Off by default: RGB-only pipelines need no motion.
    init = CompressedVideoInit(**kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        load(init, videos['hevc'])
    assert not [w for w in caught
                if issubclass(w.category, InexactMotionWarning)]
    assert stream_info._VERDICTS == {}
    assert 'check_motion=False' in repr(init)
