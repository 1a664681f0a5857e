"""tools/visualizations/activation_map.py on tiny generated videos."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from PIL import Image
from suite_utils import load_tool
from visualization_tool_utils import (
    CLIP_LEN,
    SIDE,
    one_torch_thread,  # noqa: F401
    write_moving_object_videos,
    write_tiny_config,
)

from mmcmd.apis import build_test_pipeline, init_embedder
from mmcmd.apis.embedding import pipeline_input
from mmcmd.models.backbones import R3DResNet
from mmcmd.visualization.activation import (
    activation_map,
    blend_heatmap,
    clip_frames,
)
from mmcmd.visualization.panels import (
    MIN_PANEL_HEIGHT,
    MIN_STRIP_WIDTH,
    StripRenderer,
    upscale,
)


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/visualizations/activation_map.py')


def test_help_explains(tool, capsys):
    with pytest.raises(SystemExit) as exit_info:
        tool.main(['--help'])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert 'channel sum' in text and '--checkpoint' in text


def test_draws_videos_with_a_checkpoint(tool, tmp_path, capsys):
    config = write_tiny_config(tmp_path)
    video, = write_moving_object_videos(tmp_path, 1)
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'not a video')
    torch.manual_seed(3)
    net = R3DResNet(depth=10, base_channels=8)
    net.init_weights()
    checkpoint = tmp_path / 'weights.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               net.state_dict().items()}}, checkpoint)
    out = tmp_path / 'out'
    code = tool.main([str(config), str(video), str(bad), '--checkpoint',
                      str(checkpoint), '--out-dir', str(out),
                      '--strip-frames', '4'])
    assert code == 0
    err = capsys.readouterr().err
    assert str(bad) in err and '1 of 2 videos drawn' in err
    png, gif = out / '000_video0_activation.png', \
        out / '000_video0_activation.gif'
    strip = np.asarray(Image.open(png).convert('RGB'))
    layout = StripRenderer((CLIP_LEN, SIDE, SIDE), ['frames', 'map'], '',
                           count=4)
    # readable on a laptop: at least 1000 px wide, frames upscaled
    assert strip.shape[1] >= MIN_STRIP_WIDTH
    assert strip.shape[:2] == layout.size[::-1]
    factor = layout.factor
    assert factor >= 2
    with Image.open(gif) as image:
        assert image.n_frames == CLIP_LEN
        assert image.size[1] >= MIN_PANEL_HEIGHT
        assert image.size[0] >= 2 * MIN_PANEL_HEIGHT
    assert not list(out.glob('001_*'))
    # The bottom-left picture is the middle clip's first frame, blended with
    # the map of the checkpoint's weights (recomputed here in-process).
    model = init_embedder(str(config), str(checkpoint))
    sample = build_test_pipeline(model.cfg)(pipeline_input(str(video)))
    clips = model.data_preprocessor(pseudo_collate([sample]),
                                    False)['inputs'][0]
    k = clips.shape[0] // 2
    net.eval()
    heat = activation_map(net, clips[k])
    expected = blend_heatmap(clip_frames(sample['inputs'][k]), heat)

    def panel(row: int, column: int) -> np.ndarray:
        x, y, w, h = layout.boxes[row, column]
        return strip[y:y + h, x:x + w]

    assert np.array_equal(panel(1, 0), upscale(expected[0], factor))
    assert np.array_equal(panel(0, 0),
                          upscale(clip_frames(sample['inputs'][k])[0],
                                  factor))
    # the last column shows the clip's last frame
    assert np.array_equal(panel(1, 3), upscale(expected[-1], factor))


def test_exit_status_when_nothing_is_drawn(tool, tmp_path, capsys):
    config = write_tiny_config(tmp_path)
    missing = tmp_path / 'missing.mp4'
    code = tool.main([str(config), str(missing), '--out-dir',
                      str(tmp_path / 'out'), '--format', 'mp4'])
    assert code == 1
    assert f'error: {missing}' in capsys.readouterr().err
