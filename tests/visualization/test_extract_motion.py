"""tools/analysis/extract_motion.py end to end on tiny known-motion videos."""
from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image
from suite_utils import load_tool

from mmcmd.codec import CompressedVideo
from mmcmd.codec.testing import write_panning_video
from mmcmd.visualization import MotionPictureRenderer, strongest_frame


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
        best = strongest_frame(motion, mask)
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
