"""tools/data/reencode.py defaults: the reference's 340x256, GOP 12, no
B-frames, one reference; every output reads exact motion."""
from __future__ import annotations

import pytest
from suite_utils import load_tool

from mmcmd.codec import CompressedVideo, probe_motion
from mmcmd.codec.samples import write_panning_video


@pytest.fixture(scope='module')
def source(tmp_path_factory) -> str:
    """A 64x48 x264 stream with 3 references and B-frames (approximate)."""
    path = tmp_path_factory.mktemp('reencode_defaults') / 'in' / 'a.mp4'
    write_panning_video(str(path), size=(64, 48), frames=26, gop=250,
                        bframes=2, refs=3)
    assert probe_motion(str(path)).kind == 'approximate'
    return str(path)


@pytest.mark.parametrize('extra, name, codec, size', [
    ([], 'a.mp4', 'h264', (340, 256)),
    (['--codec', 'mpeg4'], 'a.avi', 'mpeg4', (340, 256)),
    (['--keep-size'], 'a.mp4', 'h264', (64, 48)),
    (['--short-side', '96'], 'a.mp4', 'h264', (128, 96)),
    (['--size', '96x72', '--gop', '8'], 'a.mp4', 'h264', (96, 72)),
])
def test_reencode_defaults(source, tmp_path, capsys, extra, name, codec,
                           size):
    tool = load_tool('tools/data/reencode.py')
    assert tool.main([source, str(tmp_path), *extra]) == 0
    capsys.readouterr()
    target = str(tmp_path / name)
    gop = 8 if '--gop' in extra else 12
    with CompressedVideo(target) as video:
        assert video.codec_name == codec
        assert (video.width, video.height) == size
        assert video.num_frames == 26
        assert video.index.keyframes.tolist() == list(range(0, 26, gop))
        assert 'B' not in video.index.pict_types
    verdict = probe_motion(target)
    assert verdict.exact, str(verdict)
    if codec == 'h264':
        assert (verdict.max_num_ref_frames, verdict.p_refs) == (1, 1)
