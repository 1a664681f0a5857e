"""Parity with the reference CMD code: the keyframe rule on videos with
known I-frames, and the reference settings of the published configs
(keyframes, short videos, whole-pixel motion, key gradients, finetuning
rotation and schedule)."""
from __future__ import annotations

import glob
import math
from collections import Counter

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
from suite_utils import REPO_ROOT

from mmcmd.codec import CompressedVideo
from mmcmd.codec.encode import write_frames
from mmcmd.datasets.transforms import CMDSampleFrames

MARGIN = 5


def write_video(path, frames: int, gop: int) -> str:
    rng = np.random.default_rng(frames + gop)
    return write_frames(str(path), rng.integers(
        0, 256, (frames, 16, 16, 3), np.uint8), gop=gop)


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """name -> path: I-frames every 6 (39 frames), every 10 (100 frames),
    every 50 (100 frames)."""
    root = tmp_path_factory.mktemp('parity')
    return dict(gop6=write_video(root / 'gop6.mp4', 39, 6),
                gop10=write_video(root / 'gop10.mp4', 100, 10),
                gop50=write_video(root / 'gop50.mp4', 100, 50))


def draw(path: str, sampler: CMDSampleFrames, seeds):
    """(clip frame indices, keyframe) per seed, and the video's I-frames."""
    with CompressedVideo(path) as video:
        iframes = [i for i, t in enumerate(video.index.pict_types)
                   if t == 'I']
        out = []
        for seed in seeds:
            np.random.seed(seed)
            results = sampler(dict(total_frames=video.num_frames,
                                   video_reader=video))
            out.append((results['frame_inds'].tolist(),
                        results['keyframe_ind']))
    return out, iframes


def inside(iframes, clip):
    """I-frames in [first clip frame - 5, last + 5], written out."""
    return [i for i in iframes if clip[0] - MARGIN <= i <= clip[-1] + MARGIN]


def test_every_iframe_of_the_window_is_drawn_uniformly(videos):
    # 39 frames = the span of 8x4 clip + gap 2 + 8 motion: start is 0, the
    # window is [-5, 33], the I-frames inside are 0, 6, ..., 30 (not 36).
    sampler = CMDSampleFrames(clip_len=8, frame_interval=4, motion_len=8,
                              num_negatives=1, keyframe_rule='reference')
    draws, iframes = draw(videos['gop6'], sampler, range(600))
    assert iframes == [0, 6, 12, 18, 24, 30, 36]
    assert all(clip[0] == 0 for clip, _ in draws)
    counts = Counter(key for _, key in draws)
    assert sorted(counts) == [0, 6, 12, 18, 24, 30]
    assert all(abs(n - 100) < 35 for n in counts.values()), counts


def test_keyframe_is_always_an_iframe_inside_the_window(videos):
    sampler = CMDSampleFrames(clip_len=4, frame_interval=4, motion_len=4,
                              num_negatives=1)  # 'reference' by default
    draws, iframes = draw(videos['gop10'], sampler, range(200))
    assert iframes == list(range(0, 100, 10))
    for clip, key in draws:
        assert key in inside(iframes, clip), (clip, key)
    # The 'gop' rule takes the GOP of a random window frame: sometimes the
    # I-frame before the window although one lies inside it.
    gop = CMDSampleFrames(clip_len=4, frame_interval=4, motion_len=4,
                          num_negatives=1, keyframe_rule='gop')
    draws, _ = draw(videos['gop10'], gop, range(200))
    outside = [(clip, key) for clip, key in draws
               if key not in inside(iframes, clip)]
    assert outside and all(key < clip[0] - MARGIN for clip, key in outside)


def test_fallback_is_the_nearest_iframe_before_the_window(videos):
    kwargs = dict(clip_len=4, frame_interval=2, motion_len=2,
                  num_negatives=1)
    reference = CMDSampleFrames(**kwargs)
    draws, iframes = draw(videos['gop50'], reference, range(60))
    assert iframes == [0, 50]
    fallbacks = 0
    for clip, key in draws:
        candidates = inside(iframes, clip)
        if candidates:
            assert key in candidates
        else:
            fallbacks += 1
            before = max(i for i in iframes if i < clip[0] - MARGIN)
            assert key == before, (clip, key)
    assert fallbacks > 20
    # Without an I-frame inside, the window lies in one GOP: 'gop' agrees.
    gop_draws, _ = draw(videos['gop50'],
                        CMDSampleFrames(keyframe_rule='gop', **kwargs),
                        range(60))
    for (clip, key), (gop_clip, gop_key) in zip(draws, gop_draws):
        if clip == gop_clip and not inside(iframes, clip):
            assert key == gop_key


def test_test_mode_takes_the_iframe_nearest_the_clip_centre(videos):
    sampler = CMDSampleFrames(clip_len=4, frame_interval=4, motion_len=4,
                              num_negatives=1, test_mode=True)
    (clip, key), = draw(videos['gop10'], sampler, [0])[0]
    # 100 frames, span 19: start 40, clip 40..52, centre 46 -> I-frame 50.
    assert clip == [40, 44, 48, 52] and key == 50


def test_bad_keyframe_rule():
    with pytest.raises(ValueError, match='keyframe_rule'):
        CMDSampleFrames(keyframe_rule='nearest')


# ------------------------------------------------------------- configs
CMD_CONFIGS = sorted(glob.glob(str(REPO_ROOT / 'configs' / 'cmd' / '*.py')))
#: one finetune config per dataset base (every finetune config inherits
#: one of them; the registry-wide config test builds all of them).
FINETUNE_CONFIGS = [
    str(REPO_ROOT / 'configs' / 'finetune' / name) for name in (
        'finetune_r2plus1d-26_1xb8-16x4x1-120e_ucf101-split1-rgb.py',
        'finetune_c3d_1xb8-16x4x1-120e_hmdb51-split2-rgb.py')]


@pytest.mark.parametrize('path', CMD_CONFIGS,
                         ids=lambda p: p.rsplit('/', 1)[-1])
def test_published_pretraining_configs_use_reference_mode(path):
    cfg = Config.fromfile(path)
    dataset = cfg.train_dataloader.dataset
    assert dataset.short_videos == 'drop'
    sampler, = [t for t in dataset.pipeline
                if t['type'] == 'CMDSampleFrames']
    assert sampler['keyframe_rule'] == 'reference'
    decode, = [t for t in dataset.pipeline if t['type'] == 'CMDDecode']
    assert decode['motion_precision'] == 'reference'
    assert CMDSampleFrames(**{k: v for k, v in sampler.items()
                              if k != 'type'}).span == 71
    for head in ('context_head', 'motion_head'):
        assert cfg.model[head].loss.key_grad_scale == 'reference'
    assert cfg.model.motion_head.transformer_init == 'reference'


def test_finetune_configs_rotate_first_and_do_not_clip():
    for path in FINETUNE_CONFIGS:
        cfg = Config.fromfile(path)
        steps = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
        rotation = steps.index('RandomRotation')
        assert steps[rotation - 1] == 'CMDDecode', path
        assert steps[rotation + 1] == 'RandomResizedCrop', path
        assert cfg.train_dataloader.dataset.pipeline[rotation][
            'max_angle'] == 10
        assert 'clip_grad' not in cfg.optim_wrapper, path


@pytest.mark.parametrize('name,lr', [('finetune_sgd_120e.py', 1e-4 * 8),
                                     ('finetune_sgd_120e_hmdb51.py',
                                      2e-4 * 8)])
def test_finetune_learning_rate_follows_the_reference(name, lr):
    """mmengine's schedulers from the config against the reference's
    formula, written out: warm-up from 4 % over the steps of epochs 1-10,
    then a per-epoch cosine to 1e-6 (epochs counted from 1)."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / '_base_' /
                              'schedules' / name))
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(lr)
    steps, epochs, warm = 6, 120, 10
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    iter_based, epoch_based = [], []
    for sched in cfg.param_scheduler:
        sched = {k: v for k, v in sched.items()}
        kind = {'LinearLR': LinearLR,
                'CosineAnnealingLR': CosineAnnealingLR}[sched.pop('type')]
        if sched.pop('convert_to_iter_based', False):
            iter_based.append(kind.build_iter_from_epoch(
                optimizer, epoch_length=steps, **sched))
        else:
            epoch_based.append(kind(optimizer, **sched))
    for epoch in range(1, epochs + 1):
        for step in range(steps):
            got = optimizer.param_groups[0]['lr']
            if epoch <= warm:
                ratio = (step + (epoch - 1) * steps) / (warm * steps)
                want = 0.04 * lr + (lr - 0.04 * lr) * ratio
                assert abs(got - want) <= 0.96 * lr / (warm * steps) + 1e-12
            else:
                ratio = (epoch - warm) / (epochs - warm)
                want = (lr - 1e-6) * (math.cos(math.pi * ratio) + 1) / 2 \
                    + 1e-6
                assert got == pytest.approx(want, rel=1e-9), (epoch, step)
            optimizer.step()  # no gradient: only keeps the step order
            for scheduler in iter_based:
                scheduler.step()
        for scheduler in epoch_based:
            scheduler.step()
