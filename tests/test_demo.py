"""Scene-bias demo: the quick end-to-end run, and the parts it is built from
(RGB-only contrastive baseline, multi-view sampling, linear probe, summary).
"""
from __future__ import annotations

import json
import os
import pickle
import sys

import numpy as np
import pytest
import torch
from suite_utils import REPO_ROOT, load_tool, run_tool

from mmcmd.evaluation import recall_at_k  # also registers every module

demo = load_tool('tools/demo.py')


# ---------------------------------------------------------------- the demo
@pytest.fixture(scope='module')
def quick_demo(tmp_path_factory):
    """Run ``tools/demo.py --quick`` once: 50 tiny videos, 2 iterations
    (3 train videos per class instead of the quick run's 2)."""
    work = tmp_path_factory.mktemp('demo') / 'out'
    result = run_tool([sys.executable, str(REPO_ROOT / 'tools' / 'demo.py'),
                       '--quick', '--seed', '3', '--work-dir', str(work),
                       '--num-train-per-class', '3'],
                      REPO_ROOT, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return work, result.stdout


def test_quick_demo_writes_the_summary(quick_demo):
    work, stdout = quick_demo
    summary = json.loads((work / 'summary.json').read_text())
    assert set(summary['methods']) == {'cmd', 'rgb_contrast', 'random'}
    for name, result in summary['methods'].items():
        assert set(result) == {'same', 'swapped'}
        for split in ('same', 'swapped'):
            assert set(result[split]) == {'R@1', 'R@5', 'linear'}
            for value in result[split].values():
                assert 0.0 <= value <= 1.0
            # 10 queries per split in the quick run: multiples of 0.1.
            assert result[split]['R@1'] * 10 == pytest.approx(
                round(result[split]['R@1'] * 10))
            assert result[split]['R@1'] <= result[split]['R@5']
        assert summary['gaps'][name]['R@1'] == pytest.approx(
            result['same']['R@1'] - result['swapped']['R@1'])
    assert summary['seed'] == 3 and summary['quick'] is True
    assert summary['num_train_per_class'] == 3
    train = (work / 'data' / 'train.txt').read_text().splitlines()
    assert len(train) == 30  # the gallery of the retrieval runs
    png = (work / 'summary.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000
    markdown = (work / 'summary.md').read_text()
    assert '| CMD |' in markdown and '| random init |' in markdown
    assert 'gap R@1' in stdout and 'RGB contrast' in stdout
    assert '[5/5]' in stdout  # progress lines of every stage


def test_quick_demo_numbers_come_from_the_dumped_embeddings(quick_demo):
    """R@k of the metric (logged by tools/test.py) and the linear probe
    recomputed from the per-video embeddings of the same run."""
    work, _ = quick_demo
    summary = json.loads((work / 'summary.json').read_text())
    for name in ('cmd', 'rgb_contrast', 'random'):
        for split in ('same', 'swapped'):
            emb = demo.load_dumped_embeddings(
                str(work / name / f'{split}.pkl'))
            assert emb['gallery'].shape == (30, 128)  # 3 train per class
            assert emb['query'].shape == (10, 128)
            recall = recall_at_k(emb['query'], emb['query_labels'],
                                 emb['gallery'], emb['gallery_labels'],
                                 (1, 5))
            got = summary['methods'][name][split]
            assert got['R@1'] == pytest.approx(recall['R@1'])
            assert got['R@5'] == pytest.approx(recall['R@5'])
            assert got['linear'] == pytest.approx(demo.linear_probe_accuracy(
                emb['gallery'], emb['gallery_labels'], emb['query'],
                emb['query_labels']))
    # The pretrained backbones moved away from the random init.
    embeddings = {name: demo.load_dumped_embeddings(
        str(work / name / 'same.pkl'))['gallery']
        for name in ('cmd', 'rgb_contrast', 'random')}
    assert not np.allclose(embeddings['cmd'], embeddings['random'])
    assert not np.allclose(embeddings['rgb_contrast'], embeddings['random'])


def test_resumed_demo_keeps_finished_steps(quick_demo, tmp_path):
    """``--resume`` in a copy of a finished demo whose CMD evaluation on
    test_same was lost: the pretrainings resume from their last checkpoint
    without training again, the lost evaluation runs again, the others are
    kept, and the summary comes out the same."""
    import shutil
    work = tmp_path / 'out'
    shutil.copytree(quick_demo[0], work)
    before = json.loads((work / 'summary.json').read_text())
    (work / 'cmd' / 'same.pkl').unlink()
    kept = work / 'rgb_contrast' / 'swapped.pkl'
    kept_mtime = kept.stat().st_mtime
    train_log = work / 'logs' / 'train_cmd.log'
    old_log = train_log.read_text()
    result = run_tool([sys.executable, str(REPO_ROOT / 'tools' / 'demo.py'),
                       '--quick', '--seed', '3', '--work-dir', str(work),
                       '--num-train-per-class', '3', '--resume'],
                      REPO_ROOT, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert 'reusing the data set' in result.stdout
    assert 'rgb_contrast/swapped: done before, kept' in result.stdout
    assert 'random/swapped: done before, kept' in result.stdout
    assert 'cmd/same: done before' not in result.stdout
    assert (work / 'cmd' / 'same.pkl').is_file()
    assert kept.stat().st_mtime == kept_mtime
    log = train_log.read_text()
    assert log.startswith(old_log)  # the first run's log is kept
    resumed = log[len(old_log):]
    assert 'resumed from the latest checkpoint' in resumed.lower()
    assert 'Epoch(train)' not in resumed  # nothing left to train
    after = json.loads((work / 'summary.json').read_text())
    assert after['methods'] == before['methods']


def test_evaluation_done_needs_both_outputs_newer_than_checkpoint(tmp_path):
    checkpoint, dump = tmp_path / 'epoch_1.pth', tmp_path / 'same.pkl'
    metrics = tmp_path / 'eval' / '20260101_000000' / '20260101_000000.json'
    checkpoint.write_bytes(b'x')
    args = (str(tmp_path / 'eval'), str(dump), str(checkpoint))
    assert not demo.evaluation_done(*args)
    metrics.parent.mkdir(parents=True)
    metrics.write_text('{"retrieval/R@1": 0.5}')
    assert not demo.evaluation_done(*args)  # no embeddings
    dump.write_bytes(b'x')
    assert demo.evaluation_done(*args)
    os.utime(checkpoint, (metrics.stat().st_mtime + 10,) * 2)
    assert not demo.evaluation_done(*args)  # a newer checkpoint


def test_random_init_checkpoint_is_seeded(tmp_path):
    config = str(REPO_ROOT / 'configs' / 'synthetic' /
                 'retrieval_r2plus1d-10_8x2x4_synthetic-test-same.py')
    paths = [demo.save_initial_checkpoint(config, str(tmp_path / f'{i}.pth'),
                                          seed) for i, seed in
             enumerate((5, 5, 6))]
    states = [torch.load(p, weights_only=True)['state_dict'] for p in paths]
    key = 'backbone.conv1_s.weight'
    assert torch.equal(states[0][key], states[1][key])
    assert not torch.equal(states[0][key], states[2][key])
    demo.require_backbone_weights(states[0], states[2])
    with pytest.raises(KeyError, match='backbone tensors'):
        demo.require_backbone_weights({'state_dict': {}}, states[0])


# ------------------------------------------------------------ RGBContrast
def tiny_rgb_contrast(symmetric: bool = True):
    from mmaction.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(
            type='RGBContrast',
            backbone=dict(type='CMDResNet2Plus1d', depth=10, base_channels=8,
                          out_indices=(2, 3)),
            neck=dict(type='ClipMapFusion'), clip_shape=(8, 32, 32),
            hidden_channels=32, out_channels=16,
            loss=dict(type='GatheredInfoNCE', temperature=0.2),
            symmetric=symmetric))
    model.init_weights()
    return model


def reference_info_nce(query: np.ndarray, keys: np.ndarray,
                       temperature: float) -> float:
    """Mean over i of -log softmax_j(q_i . k_j / t)[i], by explicit loops."""
    total = 0.0
    for i, q in enumerate(query):
        logits = [float(np.dot(q, k)) / temperature for k in keys]
        top = max(logits)
        log_norm = top + np.log(sum(np.exp(v - top) for v in logits))
        total += log_norm - logits[i]
    return total / len(query)


@pytest.mark.parametrize('symmetric', [True, False])
def test_rgb_contrast_loss_matches_reference(symmetric):
    torch.manual_seed(0)
    model = tiny_rgb_contrast(symmetric)
    clips = torch.randn(4, 2, 3, 8, 32, 32)
    losses = model.loss(dict(imgs=clips))
    with torch.no_grad():  # the same batch: both views through BN at once
        z = model.project(clips.transpose(0, 1).flatten(0, 1)).numpy()
    z1, z2 = z[:4], z[4:]
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)
    expected = reference_info_nce(z1, z2, 0.2)
    if symmetric:
        expected = (expected + reference_info_nce(z2, z1, 0.2)) / 2
    assert losses['loss_contrast'].item() == pytest.approx(expected,
                                                           rel=1e-4)
    assert 0.0 <= losses['acc_contrast'].item() <= 1.0
    losses['loss_contrast'].backward()
    grad = model.backbone.conv1_s.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_rgb_contrast_needs_two_views_and_embeds_like_cmd():
    model = tiny_rgb_contrast()
    with pytest.raises(ValueError, match='MultiView'):
        model.loss(dict(imgs=torch.randn(2, 3, 8, 32, 32)))
    model.eval()
    clips = torch.randn(2, 3, 3, 8, 32, 32)  # 3 clips per video
    samples = model.predict(clips)
    with torch.no_grad():
        per_clip = model.backbone(clips.flatten(0, 1))[-1].mean((2, 3, 4))
    expected = per_clip.view(2, 3, -1).mean(1)
    torch.testing.assert_close(
        torch.stack([s.embedding for s in samples]), expected)


# -------------------------------------------------------------- MultiView
def test_multi_view_decodes_two_independent_views(tmp_path):
    from mmaction.registry import TRANSFORMS

    from mmcmd.codec.testing import decode_all_rgb, write_panning_video
    path = write_panning_video(str(tmp_path / 'pan.mp4'), size=(64, 48),
                               frames=40, gop=12, bframes=2)
    reference = decode_all_rgb(path)
    transform = TRANSFORMS.build(dict(type='MultiView', num_views=2,
                                      transforms=[
        dict(type='SampleFrames', clip_len=4, frame_interval=2,
             num_clips=1),
        dict(type='CMDDecode', close=False),
        dict(type='PackCMDInputs', meta_keys=('frame_inds', ))]))
    init = TRANSFORMS.build(dict(type='CompressedVideoInit'))
    np.random.seed(0)
    starts = set()
    for _ in range(4):
        results = init(dict(filename=path, start_index=0, modality='RGB'))
        reader = results['video_reader']
        out = transform(results)
        imgs = out['inputs']['imgs']
        assert imgs.shape == (2, 3, 4, 48, 64) and imgs.dtype == torch.uint8
        assert set(out['inputs']) == {'imgs'}
        assert reader._container is None  # closed once, after both views
        # Each view equals the decoded frames of SOME 4x2 clip; find it.
        for view in imgs:
            frames = view.permute(1, 2, 3, 0).numpy()
            matches = [s for s in range(40 - 7)
                       if np.array_equal(frames, reference[s:s + 8:2])]
            assert matches, 'a view is not a decoded clip of the video'
            starts.add(matches[0])
    assert len(starts) > 2  # views sample their own times


def test_multi_view_rejects_unpacked_views():
    from mmaction.registry import TRANSFORMS
    with pytest.raises(ValueError, match='num_views'):
        TRANSFORMS.build(dict(type='MultiView', num_views=1, transforms=[]))
    transform = TRANSFORMS.build(dict(type='MultiView', transforms=[]))
    with pytest.raises(ValueError, match='packing transform'):
        transform(dict(filename='x.mp4'))


# ---------------------------------------------------------- probe, summary
def test_linear_probe_separates_and_ignores_noise():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16)) * 4
    labels = np.repeat(np.arange(5), 30)
    features = centres[labels] + rng.normal(size=(150, 16))
    test_labels = np.repeat(np.arange(5), 10)
    test = centres[test_labels] + rng.normal(size=(50, 16))
    assert demo.linear_probe_accuracy(features, labels, test,
                                      test_labels) == 1.0
    noise = rng.normal(size=(150, 16))
    acc = demo.linear_probe_accuracy(noise, labels, rng.normal(size=(50, 16)),
                                     test_labels)
    assert acc < 0.5


def test_linear_probe_follows_the_shortcut_it_is_trained_on():
    """A 'scene' feature that predicts the train labels but not the swapped
    test labels makes the probe fail exactly as a scene classifier would."""
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 40)
    scene = np.eye(4)[labels] * 5 + rng.normal(size=(160, 4)) * 0.1
    test_labels = np.repeat(np.arange(4), 10)
    swapped = np.eye(4)[(test_labels + 1) % 4] * 5
    assert demo.linear_probe_accuracy(scene, labels, swapped,
                                      test_labels) == 0.0


def test_dump_reader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned',))
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([{'embedding': Evil()}]))
    with pytest.raises(pickle.UnpicklingError, match='posix.system|system'):
        demo.load_dumped_embeddings(str(path))


def test_summary_files_and_range_check(tmp_path):
    methods = {name: {split: {'R@1': 0.5, 'R@5': 0.75, 'linear': 0.6}
                      for split in ('same', 'swapped')}
               for name in ('cmd', 'rgb_contrast', 'random')}
    methods['cmd']['swapped']['R@1'] = 0.25
    paths = demo.write_summary(str(tmp_path), methods, dict(seed=1))
    summary = json.loads(open(paths['json']).read())
    assert summary['gaps']['cmd']['R@1'] == pytest.approx(0.25)
    assert summary['gaps']['random']['R@1'] == pytest.approx(0.0)
    table = demo.format_table(methods)
    assert '+25.0' in table.splitlines()[1]
    demo.check_summary(summary)
    methods['random']['same']['linear'] = 1.5
    with pytest.raises(ValueError, match='random/same/linear'):
        demo.check_summary({'methods': methods})
