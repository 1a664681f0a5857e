"""Scene-bias demo: the quick end-to-end run, and the parts it is built from
(tools/scene_bias_demo: plan, data, stages, measure, report; the RGB-only
contrastive baseline, multi-view sampling). The linear probe itself is
tested in tests/evaluation/test_linear_probe.py.
"""
from __future__ import annotations

import importlib
import json
import os
import pickle
import sys

import numpy as np
import pytest
import torch
from suite_utils import REPO_ROOT, load_tool, run_tool

from mmcmd.evaluation import recall_at_k  # also registers every module
from mmcmd.evaluation.linear_probe import linear_probe_accuracy

demo = load_tool('tools/demo.py')  # puts tools/ on sys.path for its package
demo_data = importlib.import_module('scene_bias_demo.data')
demo_measure = importlib.import_module('scene_bias_demo.measure')
demo_plan = importlib.import_module('scene_bias_demo.plan')
demo_report = importlib.import_module('scene_bias_demo.report')
demo_stages = importlib.import_module('scene_bias_demo.stages')


# ---------------------------------------------------------------- the demo
METHODS = ('cmd', 'rgb_contrast', 'random', 'supervised_biased',
           'supervised_unbiased')


def demo_command(work, *extra):
    return [sys.executable, str(REPO_ROOT / 'tools' / 'demo.py'), '--quick',
            '--seed', '3', '--work-dir', str(work), '--num-train-per-class',
            '3', *extra]


#: the demo's outputs as they are documented and read (docs/scene_bias.md,
#: the publishing code, the benchmark regression): keys in written order.
SUMMARY_KEYS = ['methods', 'gaps', 'verdicts', 'num_queries', 'seed',
                'quick', 'num_train_per_class', 'iterations', 'max_epochs',
                'batch_size', 'settings_source', 'data', 'unbiased_data',
                'wall_time_s', 'stage_seconds', 'threads_per_run',
                'parallel_runs', 'configs', 'embedding_config',
                'checkpoints', 'cfg_options', 'optimizer']
VERDICT_KEYS = {'': ['self_supervised', 'num_queries', 'ceiling', 'trap'],
                'trap': ['shown', 'readout', 'classifier', 'linear'],
                'ceiling': ['readout', 'value', 'reached']}
DATA_KEYS = ['num_train_per_class', 'num_test_per_class', 'size',
             'num_frames', 'scene_contrast']
UNBIASED_DATA_KEYS = ['own_scene_prob', 'seed', 'probe_train_per_class']
TRAINING_JSON_KEYS = ['checkpoint', 'epochs', 'iterations', 'loss',
                      'seconds']
WORK_DIR_ENTRIES = {'summary.json', 'summary.md', 'summary.png',
                    'embedding_maps.png', 'queries.txt', 'data',
                    'data_unbiased', 'logs', *METHODS}


@pytest.fixture(scope='module')
def quick_demo(tmp_path_factory):
    """Run ``tools/demo.py --quick`` once with the five default methods:
    tiny videos, one epoch of 3 iterations per trained method (3 train
    videos per class instead of the quick run's 2)."""
    work = tmp_path_factory.mktemp('demo') / 'out'
    result = run_tool(demo_command(work), REPO_ROOT, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return work, result.stdout


def test_quick_demo_writes_the_summary(quick_demo):
    work, stdout = quick_demo
    summary = json.loads((work / 'summary.json').read_text())
    assert list(summary['methods']) == list(METHODS)
    for name, result in summary['methods'].items():
        for split in ('same', 'swapped'):
            assert set(result[split]) == {'R@1', 'R@5', 'linear'}
            for value in result[split].values():
                assert 0.0 <= value <= 1.0
            # 10 queries per split in the quick run: multiples of 0.1.
            assert result[split]['R@1'] * 10 == pytest.approx(
                round(result[split]['R@1'] * 10))
            assert result[split]['R@1'] <= result[split]['R@5']
        assert 0.0 <= result['unbiased_probe'] <= 1.0
        assert ('classifier' in result) == name.startswith('supervised')
        assert ('training' in result) == (name != 'random')
        assert summary['gaps'][name]['R@1'] == pytest.approx(
            result['same']['R@1'] - result['swapped']['R@1'])
    assert summary['methods']['cmd']['training']['iterations'] == 3
    assert summary['seed'] == 3 and summary['quick'] is True
    assert summary['num_train_per_class'] == 3
    verdicts = summary['verdicts']
    assert set(verdicts['self_supervised']) == {'cmd', 'rgb_contrast'}
    cmd = verdicts['self_supervised']['cmd']
    swapped = {n: summary['methods'][n]['swapped']['R@1'] for n in METHODS}
    assert cmd['beats_random_R@1'] == (swapped['cmd'] > swapped['random'])
    assert cmd['beats_rgb_contrast_R@1'] == (
        swapped['cmd'] > swapped['rgb_contrast'])
    assert verdicts['self_supervised']['rgb_contrast'][
        'beats_rgb_contrast_R@1'] is None
    assert verdicts['ceiling']['value'] == summary['methods'][
        'supervised_unbiased']['classifier']['swapped']
    train = (work / 'data' / 'train.txt').read_text().splitlines()
    assert len(train) == 30  # the gallery
    for name in ('summary.png', 'embedding_maps.png'):
        png = (work / name).read_bytes()
        assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000
    markdown = (work / 'summary.md').read_text()
    assert '| CMD |' in markdown and '| supervised unbiased |' in markdown
    # a quick run's numbers mean nothing
    assert demo_plan.QUICK_NOTE in markdown
    assert 'unbiased probe' in stdout and 'ceiling (supervised' in stdout
    assert '[4/4]' in stdout  # progress lines of every stage


def test_quick_demo_output_keys_are_unchanged(quick_demo):
    """The files a run writes and the keys of its summary and training
    records, in order."""
    work, _ = quick_demo
    summary = json.loads((work / 'summary.json').read_text())
    assert list(summary) == SUMMARY_KEYS
    for key, keys in VERDICT_KEYS.items():
        assert list(summary['verdicts'][key] if key else
                    summary['verdicts']) == keys
    assert list(summary['verdicts']['self_supervised']['cmd']) == [
        f'beats_{other}_{key}' for other in ('random', 'rgb_contrast')
        for key in ('R@1', 'unbiased_probe')]
    assert list(summary['data']) == DATA_KEYS
    assert list(summary['unbiased_data']) == UNBIASED_DATA_KEYS
    trained = [m for m in METHODS if m != 'random']
    assert set(summary['stage_seconds']) == {
        *trained, *(f'{m}/embed' for m in METHODS)}
    assert list(summary['configs']) == trained
    assert set(summary['checkpoints']) == set(METHODS)  # in finish order
    for name in METHODS:
        result = summary['methods'][name]
        assert list(result) == ['same', 'swapped', 'unbiased_probe'] + (
            ['classifier'] if name.startswith('supervised') else []) + (
            ['training'] if name != 'random' else [])
        assert list(summary['gaps'][name]) == ['R@1', 'R@5', 'linear']
        if name != 'random':
            assert list(result['training']) == ['iterations', 'loss',
                                                'seconds']
            record = json.loads((work / name / 'training.json').read_text())
            assert list(record) == TRAINING_JSON_KEYS
        assert (work / name / 'embeddings.pkl').is_file()
    assert {p.name for p in work.iterdir()} == WORK_DIR_ENTRIES
    assert (work / 'random' / 'init.pth').is_file()
    logs = {p.name for p in (work / 'logs').iterdir()}
    assert logs == {*(f'train_{m}.log' for m in trained),
                    *(f'embed_{m}.log' for m in METHODS)}


def test_quick_demo_numbers_come_from_the_dumped_embeddings(quick_demo):
    """R@k, the linear probes, the unbiased probe and the classifiers
    recomputed from the per-video embeddings of each method's run."""
    work, _ = quick_demo
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny L-BFGS problems: threads only wait
    try:
        check_dumped_numbers(work)
    finally:
        torch.set_num_threads(threads)


def check_dumped_numbers(work):
    summary = json.loads((work / 'summary.json').read_text())
    counts = {'test_same': 10, 'test_swapped': 10, 'probe_train': 30,
              'probe_test': 10}  # 3 unbiased train videos per class
    queries = (work / 'queries.txt').read_text().splitlines()
    assert len(queries) == 60
    assert queries[0].startswith('data/videos/test_same/')
    assert queries[-1].startswith('data_unbiased/videos/test_swapped/')
    embeddings = {}
    for name in METHODS:
        emb = demo_measure.load_dumped_embeddings(str(work / name /
                                              'embeddings.pkl'))
        embeddings[name] = emb['gallery']
        assert emb['gallery'].shape == (30, 128)  # 3 train per class
        sets = demo_measure.split_queries(emb, counts)
        got = summary['methods'][name]
        for split, stem in (('same', 'test_same'),
                            ('swapped', 'test_swapped')):
            query, labels = sets[stem]
            assert labels.tolist() == np.repeat(np.arange(10), 1).tolist()
            recall = recall_at_k(query, labels, emb['gallery'],
                                 emb['gallery_labels'], (1, 5))
            assert got[split]['R@1'] == pytest.approx(recall['R@1'])
            assert got[split]['R@5'] == pytest.approx(recall['R@5'])
            assert got[split]['linear'] == pytest.approx(
                linear_probe_accuracy(emb['gallery'], emb['gallery_labels'],
                                      query, labels, 2e-3))
        assert got['unbiased_probe'] == pytest.approx(
            linear_probe_accuracy(*sets['probe_train'], *sets['probe_test'],
                                  2e-3))
        if name.startswith('supervised'):
            checkpoint = summary['checkpoints'][name]
            state = torch.load(checkpoint, weights_only=True)['state_dict']
            weight = state['cls_head.fc_cls.weight'].double().numpy()
            bias = state['cls_head.fc_cls.bias'].double().numpy()
            query, labels = sets['test_swapped']
            hits = [int(np.argmax(weight @ q + bias) == y)
                    for q, y in zip(query, labels)]
            assert got['classifier']['swapped'] == pytest.approx(
                np.mean(hits))
    # Trained encoders moved away from the random init; the two supervised
    # ones saw different data.
    for name in ('cmd', 'rgb_contrast', 'supervised_biased'):
        assert not np.allclose(embeddings[name], embeddings['random'])
    assert not np.allclose(embeddings['supervised_biased'],
                           embeddings['supervised_unbiased'])
    # The unbiased set: own scene 1 in 10, another data seed.
    meta = json.loads((work / 'data_unbiased' / 'meta.json').read_text())
    assert meta['own_scene_prob'] == 0.1 and meta['seed'] == 1003


def test_resumed_demo_keeps_finished_steps(quick_demo, tmp_path):
    """``--resume`` in a copy of a finished demo whose CMD embeddings were
    lost: every training is kept, the lost embedding runs again, the others
    are kept, and the summary comes out the same."""
    import shutil
    work = tmp_path / 'out'
    shutil.copytree(quick_demo[0], work)
    before = json.loads((work / 'summary.json').read_text())
    (work / 'cmd' / 'embeddings.pkl').unlink()
    kept = work / 'rgb_contrast' / 'embeddings.pkl'
    kept_mtime = kept.stat().st_mtime
    result = run_tool(demo_command(work, '--resume', '--jobs', '1'),
                      REPO_ROOT, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    out = result.stdout
    assert out.count('reusing') == 3  # both data sets and the random init
    for name in ('cmd', 'rgb_contrast', 'supervised_biased',
                 'supervised_unbiased'):
        assert f'  {name}: trained before, kept' in out
    for name in ('rgb_contrast', 'random', 'supervised_biased',
                 'supervised_unbiased'):
        assert f'{name}/embed: done before, kept' in out
    assert 'cmd/embed: done in' in out
    assert (work / 'cmd' / 'embeddings.pkl').is_file()
    assert kept.stat().st_mtime == kept_mtime
    after = json.loads((work / 'summary.json').read_text())
    assert after['methods'] == before['methods']


def test_schedule_rounds_iterations_to_epochs():
    plan = demo_plan.schedule(600, 1200, 16)  # 75 iterations per epoch
    assert (plan['max_epochs'], plan['iterations']) == (8, 600)
    assert plan['warmup_epochs'] == 1
    warmup, cosine = plan['param_scheduler']
    assert (warmup['begin'], warmup['end']) == (0, 1)
    assert (cosine['begin'], cosine['end'], cosine['T_max']) == (1, 8, 7)
    one = demo_plan.schedule(1, 30, 8)
    assert (one['max_epochs'], one['iterations']) == (1, 3)
    assert [s['type'] for s in one['param_scheduler']] == [
        'CosineAnnealingLR']
    with pytest.raises(ValueError, match='fill one batch'):
        demo_plan.schedule(10, 10, 16)


def test_methods_resolve_from_the_configs():
    assert demo_plan.resolve_methods(['cmd', 'random']) == ['cmd', 'random']
    every = demo_plan.resolve_methods(['all'])
    assert set(demo_plan.DEFAULT_METHODS) <= set(every)
    assert set(demo_plan.discover_methods()) <= set(every)
    assert 'retrieval' not in every
    with pytest.raises(SystemExit, match='unknown method'):
        demo_plan.resolve_methods(['nope'])
    for name in demo_plan.DEFAULT_METHODS:
        if name != 'random':
            assert os.path.isfile(demo_plan.config_of(name))


def test_settings_follow_the_calibration(monkeypatch):
    monkeypatch.setattr(demo_plan.synthetic, 'CALIBRATED', dict(
        num_train_per_class=7, iterations=9, object_size=(0.3, 0.4),
        scene_contrast=0.25), raising=False)
    settings, source = demo_plan.calibrated_settings()
    assert settings['num_train_per_class'] == 7 and 'CALIBRATED' in source
    kwargs = demo_plan.generator_kwargs(settings)
    assert kwargs['scene_contrast'] == 0.25
    monkeypatch.delattr(demo_plan.synthetic, 'CALIBRATED', raising=False)
    settings, source = demo_plan.calibrated_settings()
    assert settings == demo_plan.FALLBACK_SETTINGS and 'fallback' in source


def test_probe_split_and_query_list(tmp_path):
    data = tmp_path / 'data_unbiased'
    data.mkdir()
    (data / 'train.txt').write_text(''.join(
        f'videos/train/c{c}/v{c}_{i}.mp4 {c}\n' for c in range(3)
        for i in range(4)))
    (data / 'test_swapped.txt').write_text('videos/test/x.mp4 2\n')
    demo_data.write_probe_split(str(data), 2)
    probe = (data / 'probe_train.txt').read_text().splitlines()
    assert [line.split()[-1] for line in probe] == ['0', '0', '1', '1', '2',
                                                   '2']
    assert probe[1] == 'videos/train/c0/v0_1.mp4 0'
    path = demo_data.write_query_list(str(tmp_path), [
        (str(data), 'probe_train'), (str(data), 'test_swapped')])
    lines = open(path).read().splitlines()
    assert lines[0] == 'data_unbiased/videos/train/c0/v0_0.mp4 0'
    assert lines[-1] == 'data_unbiased/videos/test/x.mp4 2'
    emb = {'query': np.zeros((7, 2)), 'query_labels': np.arange(7)}
    sets = demo_measure.split_queries(emb, {'probe_train': 6, 'probe_test': 1})
    assert sets['probe_test'][1].tolist() == [6]
    with pytest.raises(ValueError, match='embed again'):
        demo_measure.split_queries(emb, {'probe_train': 6})


def test_done_checks_need_outputs_newer_than_the_checkpoint(tmp_path):
    checkpoint, dump = tmp_path / 'epoch_2.pth', tmp_path / 'emb.pkl'
    assert demo_stages.training_done(str(tmp_path), 2) is None
    checkpoint.write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(checkpoint))
    assert demo_stages.training_done(str(tmp_path), 2) == str(checkpoint)
    assert demo_stages.training_done(str(tmp_path), 3) is None  # not finished
    assert not demo_stages.evaluation_done(str(dump), str(checkpoint))
    dump.write_bytes(b'x')
    assert demo_stages.evaluation_done(str(dump), str(checkpoint))
    os.utime(checkpoint, (dump.stat().st_mtime + 10,) * 2)
    assert not demo_stages.evaluation_done(str(dump), str(checkpoint))


def test_random_init_checkpoint_is_seeded(tmp_path):
    config = str(REPO_ROOT / 'configs' / 'synthetic' /
                 'retrieval_r2plus1d-10_8x2x4_synthetic-test-same.py')
    paths = [demo_stages.save_initial_checkpoint(config, str(tmp_path / f'{i}.pth'),
                                          seed) for i, seed in
             enumerate((5, 5, 6))]
    states = [torch.load(p, weights_only=True)['state_dict'] for p in paths]
    key = 'backbone.conv1_s.weight'
    assert torch.equal(states[0][key], states[1][key])
    assert not torch.equal(states[0][key], states[2][key])
    demo_stages.require_backbone_weights(states[0], states[2])
    with pytest.raises(KeyError, match='backbone tensors'):
        demo_stages.require_backbone_weights({'state_dict': {}}, states[0])


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


# ---------------------------------------------------- dump, classifier, summary
def test_dump_reader_refuses_code(tmp_path):
    marker = tmp_path / 'ran'

    class Evil:
        def __reduce__(self):
            return (os.system, (f'touch {marker}',))
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([{'embedding': Evil()}], protocol=2))
    with pytest.raises(pickle.UnpicklingError, match='posix.system|system'):
        demo_measure.load_dumped_embeddings(str(path))
    assert not marker.exists()


def test_stage_specs_are_typed_and_travel_to_workers(tmp_path):
    """The specs pickle (spawned workers get them) and become the configs
    of the runs: the embedding dumps weights-only."""
    embed = demo_stages.EmbedSpec(
        name='cmd/embed', after='cmd', work_dir=str(tmp_path / 'e'),
        config=os.path.join(demo_plan.CONFIGS, demo_plan.EMBED_CONFIG),
        log=str(tmp_path / 'e.log'), dump=str(tmp_path / 'emb.pkl'),
        gallery=(str(tmp_path), 'train'), queries=(str(tmp_path), 'q'),
        threads=1, start=0.0)
    train = demo_stages.TrainSpec(
        name='cmd', config=demo_plan.config_of('cmd'), work_dir='w', log='l',
        train_data=('d', 'train'), batch_size=8, seed=1,
        schedule=demo_plan.schedule(1, 30, 8), optimizer='sgd', threads=2,
        start=0.0)
    assert (embed.kind, train.kind) == ('embed', 'train')
    assert pickle.loads(pickle.dumps(embed)) == embed
    assert pickle.loads(pickle.dumps(train)) == train
    with pytest.raises(TypeError):
        demo_stages.TrainSpec(name='x', config='c', work_dir='w', log='l',
                              threads=1, start=0.0)
    embed.checkpoint = 'epoch_1.pth'
    cfg = demo_stages.build_stage_cfg(embed)
    assert cfg.test_evaluator == [dict(type='WeightsOnlyDumpResults',
                                       out_file_path=embed.dump)]
    assert cfg.load_from == 'epoch_1.pth'
    assert cfg.test_dataloader.dataset.query.ann_file == str(
        tmp_path / 'q.txt')


def test_classifier_accuracy_applies_the_trained_head(tmp_path):
    rng = np.random.default_rng(2)
    weight, bias = rng.normal(size=(4, 6)), rng.normal(size=4)
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {
        'cls_head.fc_cls.weight': torch.from_numpy(weight),
        'cls_head.fc_cls.bias': torch.from_numpy(bias)}}, path)
    features = rng.normal(size=(20, 6))
    labels = np.argmax(features @ weight.T + bias, axis=1)
    labels[:5] = (labels[:5] + 1) % 4  # 5 of 20 wrong
    assert demo_measure.classifier_accuracy(str(path), features,
                                    labels) == pytest.approx(0.75)
    torch.save({'state_dict': {}}, path)
    with pytest.raises(KeyError, match='not a supervised'):
        demo_measure.classifier_accuracy(str(path), features, labels)


def fake_methods():
    methods = {name: {split: {'R@1': 0.5, 'R@5': 0.75, 'linear': 0.6}
                      for split in ('same', 'swapped')}
               for name in METHODS}
    for name, probe in zip(METHODS, (0.4, 0.3, 0.2, 0.1, 0.95)):
        methods[name]['unbiased_probe'] = probe
    methods['cmd']['swapped']['R@1'] = 0.25
    methods['supervised_biased']['classifier'] = {'same': 0.9,
                                                  'swapped': 0.35}
    methods['supervised_biased']['same']['linear'] = 0.85
    methods['supervised_biased']['swapped']['linear'] = 0.2
    methods['supervised_unbiased']['classifier'] = {'same': 0.95,
                                                    'swapped': 0.92}
    return methods


def test_verdicts_state_the_comparisons():
    methods = fake_methods()
    found = demo_report.verdicts(methods)
    cmd = found['self_supervised']['cmd']
    assert cmd['beats_random_R@1'] is False  # 25 vs 50
    assert cmd['beats_random_unbiased_probe'] is True  # 40 vs 20
    # 40 vs 30 on 100 queries is within two standard errors (13.4 points)
    assert cmd['beats_rgb_contrast_unbiased_probe'] is False
    found_1000 = demo_report.verdicts(methods, num_queries=1000)  # 4.2 points
    assert found_1000['self_supervised']['cmd'][
        'beats_rgb_contrast_unbiased_probe'] is True
    assert found['ceiling']['reached'] is True
    # The classifier misses the trap (35 % swapped), the probe shows it.
    assert found['trap']['shown'] is True
    assert found['trap']['readout'] == 'linear'
    text = '\n'.join(demo_report.verdict_lines(found))
    assert 'shown by its linear' in text and 'reached' in text
    methods['supervised_biased']['swapped']['linear'] = 0.5
    methods['supervised_unbiased']['classifier']['swapped'] = 0.5
    found = demo_report.verdicts(methods)
    assert found['trap']['shown'] is False
    assert found['ceiling']['reached'] is False
    del methods['random'], methods['rgb_contrast']
    assert demo_report.verdicts(methods)['self_supervised']['cmd'][
        'beats_random_R@1'] is None


def test_summary_files_and_range_check(tmp_path):
    methods = fake_methods()
    rng = np.random.default_rng(0)
    xy = demo_report.project_2d(rng.normal(size=(40, 8)), seed=0)
    assert xy.shape == (40, 2)
    maps = {name: dict(xy=xy, labels=np.arange(40) % 10,
                       scenes=(np.arange(40) // 4) % 10) for name in METHODS}
    paths = demo_report.write_summary(str(tmp_path), methods, dict(seed=1), maps)
    summary = json.loads(open(paths['json']).read())
    assert summary['gaps']['cmd']['R@1'] == pytest.approx(0.25)
    assert summary['gaps']['random']['R@1'] == pytest.approx(0.0)
    assert summary['verdicts']['trap']['readout'] == 'linear'
    table = demo_report.format_table(methods)
    assert '+25.0' in table.splitlines()[1]
    assert table.splitlines()[5].split()[-4:-1] == ['95.0', '95.0', '92.0']
    png = open(paths['maps'], 'rb').read()
    assert png[:4] == b'\x89PNG' and len(png) > 10000
    demo_report.check_summary(summary)
    methods['random']['same']['linear'] = 1.5
    with pytest.raises(ValueError, match='random/same/linear'):
        demo_report.check_summary({'methods': methods})
    methods['random']['same']['linear'] = 0.5
    methods['cmd']['unbiased_probe'] = -0.1
    with pytest.raises(ValueError, match='cmd/unbiased_probe'):
        demo_report.check_summary({'methods': methods})


def test_embedding_map_keeps_clusters():
    """Points in 3 far-apart groups stay in 3 separate groups of the 2-D
    map, and the same seed gives the same map."""
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(3), 15)
    x = np.eye(3)[groups] * 20 + rng.normal(size=(45, 3))
    x = np.concatenate([x, rng.normal(size=(45, 5))], axis=1)
    xy = demo_report.project_2d(x, seed=0)
    np.testing.assert_allclose(xy, demo_report.project_2d(x, seed=0))
    centres = np.stack([xy[groups == g].mean(0) for g in range(3)])
    spread = max(np.linalg.norm(xy[groups == g] - centres[g], axis=1).max()
                 for g in range(3))
    gaps = [np.linalg.norm(centres[i] - centres[j])
            for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 2 * spread


def test_resume_with_fewer_methods_keeps_the_bigger_unbiased_set(tmp_path):
    said = []
    data = dict(demo_plan.QUICK_DATA, num_train_per_class=3, seed=7,
                own_scene_prob=demo_plan.UNBIASED_OWN_SCENE_PROB)
    first = demo_data.make_data(str(tmp_path), False, said.append, **data)
    listing = (tmp_path / 'train.txt').read_text()
    probe = dict(data, num_train_per_class=2)
    # The probe needs 2 per class: the 3-per-class set is kept as it is.
    kept = demo_data.make_data(str(tmp_path), True, said.append, at_least=True,
                          **probe)
    assert kept == first and 'reusing' in said[-1]
    assert (tmp_path / 'train.txt').read_text() == listing
    # An exact match is still required where the whole set is trained on.
    smaller = demo_data.make_data(str(tmp_path), True, said.append, **probe)
    assert smaller['splits']['train']['num_per_class'] == 2
    assert 'written' in said[-1]
