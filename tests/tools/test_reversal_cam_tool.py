"""tools/visualizations/reversal_cam.py on tiny generated videos."""
from __future__ import annotations

import json

import av
import numpy as np
import pytest
from PIL import Image
from suite_utils import load_tool
from visualization_tool_utils import (
    CLIP_LEN,
    NUM_CLIPS,
    SIDE,
    one_torch_thread,  # noqa: F401
    write_moving_object_videos,
    write_tiny_config,
)

from mmcmd.visualization.panels import (
    MIN_PANEL_HEIGHT,
    MIN_STRIP_WIDTH,
    StripRenderer,
)


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/visualizations/reversal_cam.py')


def test_help_explains(tool, capsys):
    with pytest.raises(SystemExit) as exit_info:
        tool.main(['--help'])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert 'time-reversed' in text and '--val-videos' in text


def test_probe_accuracy_and_cam_files(tool, tmp_path, capsys):
    config = write_tiny_config(tmp_path)
    videos = write_moving_object_videos(tmp_path / 'videos', 4)
    listing = tmp_path / 'train.txt'
    listing.write_text(''.join(f'{v.name} 0\n' for v in videos[:3]))
    out = tmp_path / 'out'
    code = tool.main([str(config), str(listing), '--data-prefix',
                      str(tmp_path / 'videos'), '--val-videos',
                      str(videos[3]), '--out-dir', str(out), '--epochs', '5',
                      '--num-cams', '1', '--format', 'mp4',
                      '--strip-frames', '4'])
    assert code == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    saved = json.loads((out / 'order_accuracy.json').read_text())
    assert printed == saved
    # one unit: every accuracy is a fraction in [0, 1], and says so
    assert saved['name'] == 'order_accuracy'
    assert saved['unit'] == 'fraction' and saved['chance'] == 0.5
    for key in ('value', 'val_accuracy', 'train_accuracy', 'chance'):
        assert 0.0 <= saved[key] <= 1.0, key
    assert saved['value'] == pytest.approx(saved['val_accuracy'],
                                           abs=1e-4)
    # every clip of the held-out video, and its reversal, is scored
    assert saved['num_val_videos'] == 1 and saved['num_train_videos'] == 3
    assert saved['num_val_clips'] == NUM_CLIPS
    assert saved['num_train_clips'] == 3 * NUM_CLIPS
    strip = np.asarray(Image.open(out / '000_video3_reversal_cam.png')
                       .convert('RGB'))
    layout = StripRenderer((CLIP_LEN, SIDE, SIDE), ['a'] * 4, '', count=4)
    assert strip.shape[:2] == layout.size[::-1]
    assert strip.shape[1] >= MIN_STRIP_WIDTH

    def panel(row: int, column: int) -> np.ndarray:
        x, y, w, h = layout.boxes[row, column]
        return strip[y:y + h, x:x + w]

    # rows 1 and 3: the frames, and the same frames in reversed order
    assert np.array_equal(panel(2, 0), panel(0, 3))
    assert np.array_equal(panel(2, 3), panel(0, 0))
    assert not np.array_equal(panel(0, 0), panel(0, 3))
    with av.open(str(out / '000_video3_reversal_cam.mp4')) as container:
        frames = [f.to_ndarray(format='rgb24')
                  for f in container.decode(video=0)]
    assert len(frames) == CLIP_LEN
    # four panels side by side, each at least 256 px high
    assert frames[0].shape[0] >= MIN_PANEL_HEIGHT
    assert frames[0].shape[1] >= 4 * MIN_PANEL_HEIGHT


def test_held_out_share_and_bad_arguments(tool, tmp_path, capsys):
    config = write_tiny_config(tmp_path)
    videos = write_moving_object_videos(tmp_path, 3, num_frames=8)
    args = [str(config), str(tmp_path), '--out-dir', str(tmp_path / 'o'),
            '--epochs', '1', '--num-cams', '0']
    assert tool.main(args + ['--val-ratio', '0.4']) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (row['num_train_videos'], row['num_val_videos']) == (2, 1)
    assert not list((tmp_path / 'o').glob('*.png'))
    assert tool.main(args + ['--val-ratio', '1.5']) == 2
    assert tool.main([str(config), str(videos[0]), '--out-dir',
                      str(tmp_path / 'o')]) == 2
    assert 'need videos to train on' in capsys.readouterr().err
