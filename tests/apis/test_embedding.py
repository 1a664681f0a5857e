"""init_embedder / embed_video on real encoded videos with a tiny backbone."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmcmd.apis import (CheckpointMismatchError, EmbeddingSettings,
                        embed_video, init_embedder, video_to_clips)
from mmcmd.apis.clip_sampling import clip_frame_indices
from mmcmd.apis.embedding import build_embedding_network
from mmcmd.apis.preprocess import resize_frames, resized_size
from mmcmd.apis.video_reader import read_frames, read_frames_pyav
from mmcmd.codec.testing import decode_all_rgb, panning_frames, write_frames
from mmcmd.utils import UnsafeCheckpointError

CONFIG = str(Path(__file__).parent / 'embedding_tiny_config.py')


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> str:
    """A 30-frame 48x40 H.264 video of a panning texture."""
    path = str(tmp_path_factory.mktemp('emb') / 'pan.mp4')
    write_frames(path, panning_frames((48, 40), 30, (1.0, 0.5), seed=3),
                 gop=10)
    return path


@pytest.fixture(scope='module')
def weights(tmp_path_factory) -> dict:
    """Backbone tensors of the tiny config, BN statistics made non-trivial."""
    torch.manual_seed(0)
    from mmengine.config import Config
    net = build_embedding_network(Config.fromfile(CONFIG).model)
    net.init_weights()
    state = net.state_dict()
    g = torch.Generator().manual_seed(1)
    for key, value in state.items():
        if key.endswith(('bn1.weight', 'bn2.weight', 'bn1_s.weight',
                         'bn1_t.weight', 'bn2_s.weight', 'bn2_t.weight')):
            value.copy_(torch.rand(value.shape, generator=g) + 0.5)
        elif key.endswith('running_mean'):
            value.copy_(torch.randn(value.shape, generator=g) * 0.1)
    return {k: v.clone() for k, v in state.items()}


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, weights) -> str:
    """An mmengine-style checkpoint (``backbone.`` keys plus a head)."""
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    state = {f'backbone.{k}': v for k, v in weights.items()}
    state['cls_head.fc_cls.weight'] = torch.zeros(3, 64)
    torch.save(dict(meta=dict(epoch=1), state_dict=state), path)
    return path


def test_resize_rounds_output_size_like_the_reference():
    assert resized_size(240, 320, 128) == (128, 171)  # 170.67 -> 171
    assert resized_size(40, 48, 40) == (40, 48)
    assert resized_size(360, 202, 128) == (228, 128)  # 228.1 -> 228


def test_torch_resize_agrees_with_pil():
    frames = panning_frames((320, 240), 2, (3.0, 0.0), seed=5)
    pil = resize_frames(frames, 128, 'pil').astype(np.int16)
    ours = resize_frames(frames, 128, 'torch').astype(np.int16)
    assert pil.shape == ours.shape == (2, 128, 171, 3)
    diff = np.abs(pil - ours)
    assert diff.mean() < 0.3 and diff.max() <= 1  # measured: 0.14 and 1


def test_clips_equal_a_hand_made_pipeline(video):
    settings = EmbeddingSettings(clip_len=4, frame_interval=2, num_clips=2,
                                 scale_size=36, crop_size=32)
    clips = video_to_clips(video, settings)
    assert clips.shape == (2, 3, 4, 32, 32) and clips.dtype == torch.float32
    frames = decode_all_rgb(video)
    assert clip_frame_indices(30, 4, 2, 2).tolist() == [[5, 7, 9, 11],
                                                        [17, 19, 21, 23]]
    # Frame 19 = clip 1, step 1: PIL resize 48x40 -> 43x36 (43.2 rounded),
    # centre crop at (top 2, left 5), ImageNet normalisation.
    image = np.asarray(Image.fromarray(frames[19]).resize((43, 36),
                                                          Image.BILINEAR))
    crop = image[2:34, 5:37].astype(np.float32) / 255.0
    expected = (crop - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    got = clips[1, :, 1].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_codec_and_plain_pyav_readers_agree(video):
    plan = lambda n: clip_frame_indices(n, 4, 2, 2)  # noqa: E731
    n1, idx1, codec_frames = read_frames(video, plan)
    n2, idx2, pyav_frames = read_frames_pyav(video, plan)
    assert n1 == n2 == 30 and idx1.tolist() == idx2.tolist()
    assert np.array_equal(codec_frames, pyav_frames)
    assert np.array_equal(codec_frames, decode_all_rgb(video, idx1))


def test_embed_video_matches_brute_force(video, checkpoint, weights):
    model = init_embedder(CONFIG, checkpoint)
    assert not model.training
    assert model.embedding_cfg.num_clips == 2
    emb = embed_video(model, video)
    assert emb.shape == (64, ) and emb.dtype == np.float32
    assert np.array_equal(emb, embed_video(model, video))  # deterministic
    # The same from the decoded array, and from a reference computation.
    frames = decode_all_rgb(video)
    np.testing.assert_allclose(embed_video(model, frames), emb, rtol=1e-5,
                               atol=1e-6)
    clips = video_to_clips(frames, model.embedding_cfg)
    from mmengine.config import Config
    reference = build_embedding_network(Config.fromfile(CONFIG).model)
    reference.load_state_dict(weights, strict=True)
    reference.eval()
    with torch.no_grad():
        maps = reference(clips)  # (2, 64, t, h, w)
    expected = maps.mean(dim=(2, 3, 4)).mean(0).numpy()
    np.testing.assert_allclose(emb, expected, rtol=1e-5, atol=1e-6)
    unit = embed_video(model, video, normalize=True)
    assert abs(np.linalg.norm(unit) - 1) < 1e-5
    np.testing.assert_allclose(unit, emb / np.linalg.norm(emb), atol=1e-6)


def test_short_array_video_and_config_normalize(weights, tmp_path):
    torch.save(weights, tmp_path / 'bare.pth')  # ModelScope-style bare dict
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    cfg.embedding.normalize = True
    model = init_embedder(cfg, str(tmp_path / 'bare.pth'))
    frames = panning_frames((48, 40), 5, (1.0, 0.0))  # shorter than a clip
    emb = embed_video(model, frames)
    assert abs(np.linalg.norm(emb) - 1) < 1e-5
    assert np.linalg.norm(embed_video(model, frames, normalize=False)) > 1.5


def test_every_checkpoint_layout_loads_the_same_tensors(weights, tmp_path):
    layouts = {
        'bare': weights,
        'mmengine': dict(state_dict={f'backbone.{k}': v
                                     for k, v in weights.items()}),
        'ddp_model': dict(model={f'module.backbone.{k}': v
                                 for k, v in weights.items()}),
        'official': {f'rgb_backbone.{k}': v for k, v in weights.items()} |
        {'m_backbone.conv1.weight': torch.zeros(1)},
    }
    for name, obj in layouts.items():
        torch.save(obj, tmp_path / f'{name}.pth')
        model = init_embedder(CONFIG, str(tmp_path / f'{name}.pth'))
        for key, value in model.state_dict().items():
            assert torch.equal(value, weights[key]), (name, key)


def test_mismatching_checkpoint_names_file_and_keys(weights, tmp_path):
    missing = dict(weights)
    del missing['layer4.0.conv1_t.weight']
    missing['layer9.extra'] = torch.zeros(2)
    path = str(tmp_path / 'broken.pth')
    torch.save(missing, path)
    with pytest.raises(CheckpointMismatchError) as info:
        init_embedder(CONFIG, path)
    message = str(info.value)
    assert 'broken.pth' in message and 'layer4.0.conv1_t.weight' in message
    assert 'layer9.extra' in message
    wrong = dict(weights, **{'conv1_s.weight': torch.zeros(3, 3, 1, 7, 7)})
    torch.save(wrong, path)
    with pytest.raises(CheckpointMismatchError, match='other shapes'):
        init_embedder(CONFIG, path)


class _Payload:
    """Pickles to a call of os.system (what a crafted checkpoint does)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_crafted_checkpoint_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {'x': _Payload(str(marker))}}, path)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        init_embedder(CONFIG, path)
    assert not marker.exists()


def test_unreadable_video_raises_naming_the_file(checkpoint, tmp_path):
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'\x00' * 100)
    model = init_embedder(CONFIG, checkpoint)
    with pytest.raises(Exception, match='bad.mp4'):
        embed_video(model, str(bad))
