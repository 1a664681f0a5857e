"""Tiny encoded videos with known motion, written once per test session."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Tuple

import pytest

from mmcmd.codec.samples import write_panning_video


@dataclass(frozen=True)
class PanningVideo:
    """A written test video and how it was encoded."""

    path: str
    motion: Tuple[float, float]
    frames: int
    gop: int
    size: Tuple[int, int]
    options: Dict = field(default_factory=dict)


#: name -> (extension, write_panning_video keyword arguments)
SPECS = {
    # MPEG-4 Part 2 in AVI, no B-frames, half-pel motion.
    'mpeg4': ('avi', dict(codec='mpeg4', motion=(1.5, -1.0), gop=8)),
    # H.264, B-frames, one reference frame, quarter-pel motion.
    'h264_bframes': ('mp4', dict(codec='h264', motion=(1.25, 0.75), gop=10,
                                 bframes=2)),
    # H.264, B-pyramid and four reference frames.
    'h264_refs': ('mp4', dict(codec='h264', motion=(-2.0, 1.0), gop=12,
                              bframes=3, refs=4, pyramid=True)),
    # MPEG-2 in an MPEG program stream, B-frames.
    'mpeg2': ('mpg', dict(codec='mpeg2video', motion=(2.0, -1.0), gop=6,
                          bframes=2)),
}


@pytest.fixture(scope='session')
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp('codec_videos')


@pytest.fixture(scope='session')
def panning_videos(video_dir: Path) -> Dict[str, PanningVideo]:
    """The four known-motion videos of :data:`SPECS`, 96x64, 30 frames."""
    videos = {}
    for name, (ext, kwargs) in SPECS.items():
        path = str(video_dir / f'{name}.{ext}')
        write_panning_video(path, size=(96, 64), frames=30, **kwargs)
        videos[name] = PanningVideo(
            path, kwargs['motion'], 30, kwargs['gop'], (96, 64),
            {k: v for k, v in kwargs.items() if k != 'motion'})
    return videos


@pytest.fixture(params=sorted(SPECS))
def panning(request, panning_videos) -> PanningVideo:
    """Each known-motion video in turn."""
    return panning_videos[request.param]


@pytest.fixture(autouse=True, params=['packets_in_memory', 'seeking'])
def packet_source(request, monkeypatch) -> str:
    """Every codec test twice: passes replaying the packets kept from
    indexing (small files, the default) and passes that seek in the file
    (files over ``PACKET_CACHE_BYTES``)."""
    if request.param == 'seeking':
        monkeypatch.setattr('mmcmd.codec.reader.PACKET_CACHE_BYTES', -1)
    return request.param
