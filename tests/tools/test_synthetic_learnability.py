"""tools/analysis/synthetic_learnability.py: the supervised reference check."""
import json

import numpy as np
import pytest
from suite_utils import load_tool

from mmcmd.datasets import synthetic

TINY = ['--num-per-class', '1', '--test-per-class', '1', '--iters', '3',
        '--batch-size', '4', '--frames', '16', '--size', '64',
        '--log-every', '1']


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis/synthetic_learnability.py')


def test_unbiased_split_spreads_scenes_evenly(tool):
    args = tool.parse_args(['--frames', '16', '--size', '64'])
    rng = np.random.default_rng(0)
    videos, labels, scenes = tool.render_split(10, rng, args, 32)
    assert videos.shape == (100, 16, 32, 32, 3) and videos.dtype == np.uint8
    for label in range(10):  # every scene exactly once per class
        assert sorted(scenes[labels == label]) == list(range(10))


def _mode_share(frame: np.ndarray) -> float:
    """Share of a frame's pixels that have its most common colour."""
    _, counts = np.unique(frame.reshape(-1, 3), axis=0, return_counts=True)
    return counts.max() / counts.sum()


def test_variants_change_the_data_and_are_restored(tool):
    saved = synthetic.OBJECT_SIZE_RANGE, synthetic.scene_image
    args = tool.parse_args(['--plain', '--object-size', '0.3', '0.3',
                            '--frames', '16', '--size', '64'])
    with tool.data_variant(args):
        videos, _, _ = tool.render_split(1, np.random.default_rng(0), args,
                                         64)
    assert (synthetic.OBJECT_SIZE_RANGE, synthetic.scene_image) == saved
    # Flat grey background: the most common pixel of every frame is 128.
    for frame in videos.reshape(-1, 64 * 64, 3)[::7]:
        values, counts = np.unique(frame[:, 0], return_counts=True)
        assert values[counts.argmax()] == 128
    # Object side 0.3 x 64 = 19 px at a sub-pixel position: it touches
    # 19-20 rows and columns (fewer where it leaves the frame).
    moving = (videos[:, 0] != 128).any(-1).sum((1, 2))
    assert 19 ** 2 <= np.median(moving) <= 20 ** 2 and moving.max() <= 400
    # Scene contrast 0: one flat colour per video around the object.
    small = ['--object-size', '0.2', '0.2', '--frames', '16', '--size', '64']
    flat = tool.parse_args(['--scene-contrast', '0'] + small)
    textured = tool.parse_args(['--scene-contrast', '1'] + small)
    for variant, check in ((flat, lambda share: share > 0.8),
                           (textured, lambda share: share < 0.2)):
        with tool.data_variant(variant):
            videos, _, _ = tool.render_split(
                1, np.random.default_rng(1), variant, 64)
        assert all(check(_mode_share(v[0])) for v in videos)


def test_biased_splits_follow_the_generator(tool):
    args = tool.parse_args(['--frames', '16', '--size', '64'])
    for split in ('train', 'test_same'):
        _, labels, scenes = tool.render_split(
            20, np.random.default_rng(0), args, 32, split)
        for label in range(10):  # 0.85 x 20 = 17 own-scene videos per class
            own = scenes[labels == label] == label
            assert own.sum() == 17 and len(own) == 20
    never = tool.parse_args(['--own-scene-prob', '0', '--frames', '16',
                             '--size', '64'])
    _, labels, scenes = tool.render_split(9, np.random.default_rng(0),
                                          never, 32, 'train')
    assert not (scenes == labels).any()
    with pytest.raises(ValueError, match='unknown split'):
        tool.render_split(1, np.random.default_rng(0), args, 32,
                          'test_swapped')
    with pytest.raises(SystemExit):
        tool.parse_args(['--own-scene-prob', '1.5'])


def test_run_writes_a_deterministic_result(tool, tmp_path):
    out = tmp_path / 'a.json'
    assert tool.main(TINY + ['--json', str(out)]) == 0
    first = json.loads(out.read_text())
    assert first['chance'] == 0.1
    assert first['chance_loss'] == pytest.approx(np.log(10), abs=1e-4)
    for name in ('unbiased', 'biased'):
        curve = first[name]['curve']
        assert [p['iter'] for p in curve] == [1, 2, 3]
        assert all(np.isfinite(p['loss']) for p in curve)
    # The unbiased reference keeps its top-level numbers.
    assert first['curve'] == first['unbiased']['curve']
    assert first['test_acc'] == first['unbiased']['test_acc']
    biased = first['biased']
    for key in ('train_acc', 'test_same_acc', 'test_swapped_acc'):
        assert 0 <= biased[key] <= 1
    assert biased['own_scene_share'] == 1.0  # round(0.85 x 1) = 1 video
    # Same initial weights and batch schedule, different data: the first
    # losses differ, and each check agrees with its number.
    assert biased['curve'][0]['loss'] != first['curve'][0]['loss']
    assert first['checks'] == {
        'unbiased_test': first['test_acc'] >= 0.9,
        'biased_same': biased['test_same_acc'] >= 0.8,
        'biased_swapped': biased['test_swapped_acc'] <= 0.3}
    assert first['settings']['input'] == [8, 64, 64]
    assert first['settings']['object_size'] == list(
        synthetic.OBJECT_SIZE_RANGE)
    # Training one reference alone gives the same numbers as training both.
    again = tool.run(tool.parse_args(TINY + ['--references', 'unbiased']))
    assert again['curve'] == first['curve']
    assert again['test_acc'] == first['test_acc']
    assert 'biased' not in again and set(again['checks']) == {
        'unbiased_test'}
    alone = tool.run(tool.parse_args(TINY + ['--references', 'biased']))
    assert alone['biased'] == biased and 'unbiased' not in alone


def test_defaults_are_the_calibrated_benchmark(tool):
    args = tool.parse_args([])
    assert args.num_per_class == synthetic.CALIBRATED['num_train_per_class']
    assert args.iters == synthetic.CALIBRATED['iterations']
    assert args.scene_contrast == synthetic.CALIBRATED['scene_contrast']
    assert synthetic.OBJECT_SIZE_RANGE == synthetic.CALIBRATED[
        'object_size']
    assert args.references == ['unbiased', 'biased']


def test_cfg_options_change_the_encoder(tool):
    default, _ = tool.build_encoder(tool.MODELS_CFG)
    args = tool.parse_args(['--cfg-options', 'clip_backbone.max_pool=False',
                            'clip_backbone.zero_init_residual=False'])
    assert args.cfg_options == {'clip_backbone.max_pool': False,
                                'clip_backbone.zero_init_residual': False}
    variant, shape = tool.build_encoder(tool.MODELS_CFG, args.cfg_options)
    assert shape == (8, 64, 64)
    assert default.zero_init_residual and not variant.zero_init_residual
    import torch
    clip = torch.zeros(1, 3, 8, 64, 64)
    with torch.no_grad():  # no max-pool: twice the resolution at stage 4
        assert default(clip).shape == (1, 128, 1, 2, 2)
        assert variant(clip).shape == (1, 128, 1, 4, 4)
