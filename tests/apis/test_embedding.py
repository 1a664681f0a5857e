"""init_embedder / embed_video on real encoded videos with a tiny backbone."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmcmd.apis import (
    CheckpointMismatchError,
    build_test_pipeline,
    embed_video,
    init_embedder,
)
from mmcmd.codec.encode import write_frames
from mmcmd.codec.samples import panning_frames
from mmcmd.codec.testing import decode_all_rgb
from mmcmd.models.utils import build_module
from mmcmd.utils import UnsafeCheckpointError

CONFIG = str(Path(__file__).parent / 'embedding_tiny_config.py')
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> str:
    """A 30-frame 56x44 H.264 video of a panning texture."""
    path = str(tmp_path_factory.mktemp('emb') / 'pan.mp4')
    write_frames(path, panning_frames((56, 44), 30, (1.0, 0.5), seed=3),
                 gop=10)
    return path


@pytest.fixture(scope='module')
def weights() -> dict:
    """Backbone tensors of the tiny config, BN statistics made non-trivial."""
    torch.manual_seed(0)
    net = build_module(Config.fromfile(CONFIG).model.backbone)
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


def _reference_embedding(frames: np.ndarray, weights: dict) -> np.ndarray:
    """The tiny protocol written out for 30 frames of 56x44: span 7, so
    starts at the midpoints of 2 halves of [0, 23]: clips [5, 7, 9, 11] and
    [17, 19, 21, 23]; PIL bilinear to 51x40 (50.9 rounded), centre crop 32
    at (top 4, left 9); ImageNet normalisation; backbone; mean of the
    clips' pooled maps."""
    clips = []
    for indices in ([5, 7, 9, 11], [17, 19, 21, 23]):
        crops = [np.asarray(Image.fromarray(frames[i]).resize(
            (51, 40), Image.BILINEAR))[4:36, 9:41] for i in indices]
        x = (np.stack(crops).astype(np.float32) / 255 - IMAGENET_MEAN) \
            / IMAGENET_STD
        clips.append(torch.from_numpy(x).permute(3, 0, 1, 2))  # 3, T, H, W
    reference = build_module(Config.fromfile(CONFIG).model.backbone)
    reference.load_state_dict(weights, strict=True)
    with torch.no_grad():
        maps = reference.eval()(torch.stack(clips))  # (2, 64, t, h, w)
    return maps.mean(dim=(2, 3, 4)).mean(0).numpy()


def test_embed_video_matches_brute_force(video, checkpoint, weights):
    model = init_embedder(CONFIG, checkpoint)
    assert not model.training and model.cfg.test_pipeline[1].num_clips == 2
    emb = embed_video(model, video)
    assert emb.shape == (64, ) and emb.dtype == np.float32
    assert np.array_equal(emb, embed_video(model, video))  # deterministic
    frames = decode_all_rgb(video)
    np.testing.assert_allclose(emb, _reference_embedding(frames, weights),
                               rtol=1e-5, atol=1e-6)
    # The decoded array goes through the same pipeline (ArrayVideoInit).
    np.testing.assert_allclose(embed_video(model, frames), emb, rtol=1e-5,
                               atol=1e-6)
    unit = embed_video(model, video, normalize=True)
    np.testing.assert_allclose(unit, emb / np.linalg.norm(emb), atol=1e-6)
    assert model.normalize is False  # the override does not stick


def test_pipeline_clips_match_pil_by_hand():
    # 60x44: short side 40 -> 54.5 rounds to 55 wide (PIL bilinear).
    frames = panning_frames((60, 44), 12, (1.0, 0.0), seed=4)
    pipeline = build_test_pipeline(Config.fromfile(CONFIG), array=True)
    packed = pipeline(dict(array=frames))
    clips = packed['inputs'].numpy()  # (2, 3, 4, 32, 32) uint8
    # 12 frames, span 7: starts = midpoints of 2 halves of [0, 5] -> 1, 3.
    for clip, first in zip(clips, (1, 3)):
        for step in range(4):
            image = Image.fromarray(frames[first + 2 * step]).resize(
                (55, 40), Image.BILINEAR)
            expected = np.asarray(image)[4:36, 11:43]
            assert np.array_equal(clip[:, step].transpose(1, 2, 0), expected)


def test_short_array_video_and_config_normalize(weights, tmp_path):
    torch.save(weights, tmp_path / 'bare.pth')  # ModelScope-style bare dict
    cfg = Config.fromfile(CONFIG)
    cfg.model.normalize = True
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
        for key, value in model.backbone.state_dict().items():
            assert torch.equal(value, weights[key]), (name, key)


def test_recognizer_config_embeds_with_its_backbone(weights, tmp_path):
    # A finetune-style config: its backbone (Pretrained init_cfg dropped)
    # and data preprocessor become the VideoEmbedder.
    cfg = Config.fromfile(CONFIG)
    backbone = dict(cfg.model.backbone, init_cfg=dict(
        type='Pretrained', checkpoint='absent.pth', prefix='backbone.'))
    cfg.model = dict(type='Recognizer3D', backbone=backbone,
                     cls_head=dict(type='I3DHead', in_channels=64,
                                   num_classes=3),
                     data_preprocessor=cfg.model.data_preprocessor)
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in weights.items()}),
               tmp_path / 'finetuned.pth')
    model = init_embedder(cfg, str(tmp_path / 'finetuned.pth'))
    assert type(model).__name__ == 'VideoEmbedder'
    reference = init_embedder(CONFIG, str(tmp_path / 'finetuned.pth'))
    frames = panning_frames((48, 40), 9, (0.0, 1.0))
    np.testing.assert_array_equal(embed_video(model, frames),
                                  embed_video(reference, frames))


def test_config_without_test_pipeline_is_refused(checkpoint):
    cfg = Config.fromfile(CONFIG).to_dict()
    del cfg['test_pipeline']
    with pytest.raises(KeyError, match='test_pipeline'):
        init_embedder(cfg, checkpoint)


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


def test_embedder_has_its_own_base_and_backbone_keys_only(weights, tmp_path):
    from mmcmd.models.embedders import BaseEmbedder
    from mmcmd.models.selfsup import BaseSelfSupervisor
    model = build_module(Config.fromfile(CONFIG).model)
    assert isinstance(model, BaseEmbedder)
    assert not isinstance(model, BaseSelfSupervisor)
    assert set(model.state_dict()) == {f'backbone.{k}' for k in weights}
    with pytest.raises(RuntimeError, match='no training loss'):
        model(torch.zeros(1, 3, 4, 32, 32), mode='loss')
    with pytest.raises(KeyError, match='tools/convert/'):
        model.load_state_dict({'head.fc.weight': torch.zeros(1)},
                              strict=False)


def test_training_checkpoint_loads_its_backbone_and_summarises_the_rest(
        weights):
    """A CMD / Recognizer3D checkpoint holds other modules: the embedder
    takes the backbone, names the rest in one line, and reports no
    unexpected key (mmengine's loader prints each unexpected key)."""
    model = build_module(Config.fromfile(CONFIG).model)
    state = {f'backbone.{k}': v.clone() for k, v in weights.items()}
    state['motion_backbone.conv.weight'] = torch.zeros(2)
    state['context_head.fc.weight'] = torch.zeros(3)
    result = model.load_state_dict(dict(state), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in weights.items():
        assert torch.equal(model.state_dict()[f'backbone.{key}'], value)
