"""tools/analysis/extract_motion.py end to end on tiny known-motion videos."""
from __future__ import annotations

import os

import av
import numpy as np
import pytest
from PIL import Image
from suite_utils import load_tool

from mmcmd.codec import CompressedVideo, MotionVerdict
from mmcmd.codec.samples import write_panning_video
from mmcmd.visualization import (
    MotionPictureRenderer,
    motion_strength,
    robust_strength,
    strongest_frame,
)


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis/extract_motion.py')


@pytest.fixture(scope='module')
def pan(tmp_path_factory) -> str:
    """MPEG-4 pan of (1.5, -1) px/frame, 64x48, 12 frames, GOP 6."""
    path = tmp_path_factory.mktemp('extract') / 'pan.avi'
    return write_panning_video(str(path), codec='mpeg4', size=(64, 48),
                               frames=12, motion=(1.5, -1.0), gop=6)


def interior_medians(motion, mask):
    inner = mask[:, 2:-2, 2:-2]
    return [(float(np.median(m[0, 2:-2, 2:-2][k])),
             float(np.median(m[1, 2:-2, 2:-2][k])))
            for m, k in zip(motion, inner) if k.any()]


def test_npz_keeps_its_contract(tmp_path, tool, pan):
    out = tmp_path / 'motion.npz'
    assert tool.main([pan, '-o', str(out)]) == 0
    data = np.load(out)
    assert data['motion'].shape == (12, 2, 12, 16)
    assert data['motion'].dtype == np.float32
    assert data['mask'].shape == (12, 12, 16)
    assert ''.join(data['pict_types']) == 'IPPPPPIPPPPP'
    assert data['keyframes'].tolist() == [0, 6]
    assert float(data['fps']) == pytest.approx(25.0)
    assert data['size'].tolist() == [64, 48]
    medians = interior_medians(data['motion'], data['mask'])
    assert len(medians) == 10
    for median in medians:
        assert median == pytest.approx((1.5, -1.0), abs=0.25)
    assert tool.main([str(tmp_path / 'none.mp4'), '-o', str(out)]) == 1


def test_png_without_npz_shows_the_strongest_frame(tmp_path, tool, pan):
    png = tmp_path / 'only.png'
    assert tool.main([pan, '--png', str(png), '--scale', '2']) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ['only.png']
    picture = np.asarray(Image.open(png).convert('RGB'))
    with CompressedVideo(pan) as video:
        motion, mask = video.read_motion(range(12))
        best = strongest_frame(motion, mask, robust=True)
        out = video.decode(rgb=[best], motion=[best])
        kind = video.index.pict_types[best]
    expected = MotionPictureRenderer(64, 48, 2).render(
        out.rgb[0], out.motion[0], out.mask[0], kind, best)
    assert np.array_equal(picture, expected.image)
    # --frame picks another frame: the I-frame, flagged on the panel.
    assert tool.main([pan, '--png', str(png), '--scale', '2',
                      '--frame', '6']) == 0
    assert not np.array_equal(np.asarray(Image.open(png).convert('RGB')),
                              expected.image)
    assert tool.main([pan, '--png', str(png), '--frame', '12']) == 2


@pytest.mark.parametrize('fmt', ['gif', 'mp4'])
def test_animation_has_the_asked_frames_and_size(tmp_path, tool, pan, fmt):
    path = tmp_path / f'anim.{fmt}'
    assert tool.main([pan, f'--{fmt}', str(path), '--start', '3',
                      '--frames', '5', '--scale', '1.5']) == 0
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format='rgb24')
                  for f in container.decode(video=0)]
    # header 20 + max(panel 72, legend 112) + pad 6 high; three 6 px pads,
    # two 96 px panels and the 112 px legend wide.
    assert len(frames) == 5
    assert frames[0].shape == (20 + 112 + 6, 3 * 6 + 2 * 96 + 112, 3)
    # Past the end: the animation stops at the last frame.
    assert tool.main([pan, f'--{fmt}', str(path), '--start', '9',
                      '--scale', '1']) == 0
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 3
    assert tool.main([pan, f'--{fmt}', str(path), '--start', '12']) == 2


def test_bad_arguments_exit_2(tool, pan):
    for argv in ([pan], [pan, '--png', 'x.png', '--scale', '0'],
                 [pan, '--gif', 'x.gif', '--frames', '-1']):
        with pytest.raises(SystemExit) as bad:
            tool.main(argv)
        assert bad.value.code == 2


@pytest.fixture(scope='module')
def pyramid(tmp_path_factory) -> str:
    """H.264 pan with a B-pyramid: its B-frames' motion is approximate."""
    path = tmp_path_factory.mktemp('extract_pyramid') / 'pyramid.mp4'
    return write_panning_video(str(path), size=(64, 48), frames=16,
                               motion=(1.5, -1.0), gop=250, bframes=3,
                               pyramid=True)


def printed_paths(out: str) -> list:
    """The ``PATH: ...`` lines' paths (after the verdict line)."""
    return [line.split(': ')[0] for line in out.strip().splitlines()[1:]]


def test_exact_stream_says_so(tmp_path, tool, pan, capsys):
    out = tmp_path / 'motion.npz'
    assert tool.main([pan, '-o', str(out)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f'{pan}: motion exact'
    data = np.load(out)
    assert str(data['verdict']) == 'exact'
    assert not data['approximate'].any()
    args = tool.parse_args([pan, '--png', str(tmp_path / 'p.png')])
    with CompressedVideo(pan) as video:
        result = tool.run(args, video)
    assert result.status == 0 and result.verdict.kind == 'exact'
    assert result.flags == {}


def test_approximate_frames_are_flagged_and_skipped(tmp_path, tool, pyramid,
                                                    capsys):
    npz, png = tmp_path / 'm.npz', tmp_path / 'm.png'
    args = tool.parse_args([pyramid, '-o', str(npz), '--png', str(png)])
    with CompressedVideo(pyramid) as video:
        result = tool.run(args, video)
        types = video.index.pict_types
        assert 'B' in types
        chosen = result.frame
        out = video.decode(rgb=[chosen], motion=[chosen])
    printed = capsys.readouterr().out
    # the verdict: returned, printed first, saved
    assert result.status == 0 and result.verdict.kind == 'approximate'
    assert result.flags == {'B': 'B-pyramid'}
    assert printed.splitlines()[0].startswith(f'{pyramid}: motion '
                                              'approximate: ')
    assert 'B-frames' in printed.splitlines()[0]
    data = np.load(npz)
    assert str(data['verdict']) == 'approximate'
    assert 'B-pyramid' in str(data['verdict_reason'])
    assert data['approximate'].tolist() == [t == 'B' for t in types]
    # the strongest frame is chosen among the exact frames only
    assert types[chosen] != 'B'
    assert result.written == {'out': str(npz), 'png': str(png)}
    # --frame on a B-frame: the picture says its motion is approximate
    b_frame = int(np.flatnonzero(types == 'B')[0])
    args = tool.parse_args([pyramid, '--png', str(png), '--frame',
                            str(b_frame), '--scale', '2'])
    with CompressedVideo(pyramid) as video:
        result = tool.run(args, video)
        out = video.decode(rgb=[b_frame], motion=[b_frame])
    assert 'motion approximate (B-pyramid)' in capsys.readouterr().out
    expected = MotionPictureRenderer(64, 48, 2).render(
        out.rgb[0], out.motion[0], out.mask[0], 'B', b_frame, 'B-pyramid')
    assert expected.flag == 'B-pyramid'
    drawn = np.asarray(Image.open(png).convert('RGB'))
    assert np.array_equal(drawn, expected.image)
    plain = MotionPictureRenderer(64, 48, 2).render(
        out.rgb[0], out.motion[0], out.mask[0], 'B', b_frame)
    assert not np.array_equal(drawn, plain.image)


def test_flags_of_each_reason(tool):
    assert tool.approximate_flags(MotionVerdict('exact')) == {}
    assert tool.approximate_flags(None) == {}
    assert tool.approximate_flags(MotionVerdict(
        'approximate', 'max_num_ref_frames 4: P-frames predict from up to '
        '4 reference frames; B-frames used as references (B-pyramid)')) == {
            'P': 'multi-ref', 'B': 'B-pyramid'}
    assert tool.approximate_flags(MotionVerdict(
        'approximate', 'interlaced (field-coded) H.264')) == {
            'P': 'interlaced', 'B': 'interlaced'}


def test_robust_strength_ignores_wild_vectors():
    motion = np.zeros((2, 2, 10, 10), np.float32)
    mask = np.ones((2, 10, 10), bool)
    motion[0, 0] = 1.0
    motion[0, 0, 0, :3] = 100.0  # three wild vectors
    motion[1, 0] = 2.0
    assert np.argmax(motion_strength(motion, mask)) == 0
    assert robust_strength(motion, mask).tolist() == [1.0, 2.0]
    assert strongest_frame(motion, mask, robust=True) == 1
    assert strongest_frame(motion, mask, allowed=np.array([True, False]),
                           robust=True) == 0


@pytest.mark.parametrize('argv, words', [
    (['-o', 'm.txt'], '-o m.txt: the file must end in .npz'),
    (['--gif', 'x.png'], '--gif x.png: the file must end in .gif'),
    (['--png', 'x.gif'], '--png x.gif: the file must end in .png'),
    (['--mp4', 'x.gif'], '--mp4 x.gif: the file must end in .mp4'),
])
def test_wrong_extensions_are_refused_up_front(tmp_path, tool, pan, capsys,
                                               argv, words, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert tool.main([pan, *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f'error: {words} (the '
                                                 f'{words[-3:].upper()} '
                                                 'file it writes)']
    assert captured.out == ''
    assert os.listdir(tmp_path) == []


def test_output_folders_created_or_refused(tmp_path, tool, pan, capsys):
    # a missing folder is created before the work; the printed paths are
    # the files written, and nothing else is written
    npz = tmp_path / 'new' / 'deeper' / 'm.npz'
    gif = tmp_path / 'anim' / 'm.gif'
    assert tool.main([pan, '-o', str(npz), '--gif', str(gif), '--frames',
                      '2']) == 0
    captured = capsys.readouterr()
    assert f'created folder {npz.parent}' in captured.err
    assert printed_paths(captured.out) == [str(npz), str(gif)]
    assert sorted(str(p) for p in tmp_path.rglob('*') if p.is_file()) == \
        sorted([str(npz), str(gif)])
    # a folder that cannot be made (its parent is a file): one line, exit
    # 2, nothing written
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    assert tool.main([pan, '-o', str(blocker / 'm.npz')]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1
    assert 'cannot create the folder' in captured.err
    # an output that is a folder
    folder = tmp_path / 'dir.png'
    folder.mkdir()
    assert tool.main([pan, '--png', str(folder)]) == 2
    assert 'is a folder' in capsys.readouterr().err
