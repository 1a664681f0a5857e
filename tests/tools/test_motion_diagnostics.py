"""tools/analysis/motion_diagnostics.py: the motion task's training signal,
and the one-batch check that CMD's motion pathway can learn at all."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from suite_utils import load_tool

from mmcmd.datasets import synthetic

diag = load_tool('tools/analysis/motion_diagnostics.py')

# The demo's CMD config on 64x64 clips (4 x 4 key grid) with a smaller
# clip encoder and head, so that one batch trains in seconds.
SMALL = {
    'model.backbone.base_channels': 8,
    'model.motion_backbone.base_channels': 4,
    'model.keyframe_backbone.base_channels': 8,
    'model.context_head.hidden_channels': 64,
    'model.context_head.out_channels': 32,
    'model.motion_head.embed_dims': 32,
    'model.motion_head.num_heads': 2,
    'model.motion_head.num_decoder_layers': 1,
    'model.motion_head.feedforward_channels': 64,
    'model.motion_head.hidden_channels': 64,
    'model.motion_head.out_channels': 32,
    'model.motion_head.dropout': 0.0,
}


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> Path:
    """Real encoded synthetic videos: one train video per class."""
    root = tmp_path_factory.mktemp('motion_diag')
    synthetic.generate_dataset(str(root), seed=3, num_train_per_class=1,
                               num_test_per_class=1, num_frames=32,
                               workers=1, progress=False)
    return root


def test_signal_stats_match_brute_force() -> None:
    torch.manual_seed(0)
    keys = F.normalize(torch.randn(7, 5), dim=1)
    keys[4] = keys[1]  # a twin pair
    keys[5] = keys[1]
    query = F.normalize(torch.randn(3, 5), dim=1)
    still = torch.tensor([True, False, True, False, True, True, False])
    stats = diag.signal_stats(query, keys, still, temperature=0.2)
    losses, hits = [], []
    for i in range(3):
        logits = [float(query[i] @ keys[j]) / 0.2 for j in range(7)]
        top = max(logits)
        norm = top + math.log(sum(math.exp(v - top) for v in logits))
        losses.append(norm - logits[i])
        hits.append(float(logits.index(top) == i))
    assert stats['num_keys'] == 7
    assert stats['loss_motion'] == pytest.approx(sum(losses) / 3, rel=1e-5)
    assert stats['loss_still'] == pytest.approx((losses[0] + losses[2]) / 2,
                                                rel=1e-5)
    assert stats['loss_moving'] == pytest.approx(losses[1], rel=1e-5)
    assert stats['acc_motion'] == pytest.approx(sum(hits) / 3)
    # Key 1 has two twins (4, 5): its query cannot go below ln 3.
    assert stats['loss_floor'] == pytest.approx(math.log(3) / 3, rel=1e-5)
    assert stats['loss_floor_moving'] == pytest.approx(math.log(3), rel=1e-5)
    assert stats['duplicate_key_share'] == pytest.approx(3 / 7)
    assert stats['still_share'] == pytest.approx(4 / 7)


@pytest.fixture
def one_thread():
    """One torch thread (the step's speed then does not depend on what
    else runs on the machine); restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_fixed_batch_motion_pathway_learns(data_root: Path,
                                           one_thread) -> None:
    """One real batch of the demo's pipeline is memorised: acc_motion
    reaches 0.5 within a bounded number of Adam steps. A change that cuts
    the motion pathway (no gradient to queries or keys, shuffled
    positives, a frozen key encoder) fails here."""
    cfg = diag.load_config(diag.DEFAULT_CONFIG, str(data_root), SMALL,
                           batch_size=4)
    model, loader = diag.build(cfg, seed=0)
    result = diag.fixed_batch(model, next(iter(loader)), max_steps=250,
                              lr=3e-3, target=0.5)
    assert result['first']['acc_motion'] < 0.2
    assert result['steps_to_target'] is not None, result
    assert result['last']['acc_motion'] >= 0.5
    assert result['last']['loss_motion'] < result['first']['loss_motion'] - 1


def test_rows_at_init_and_after_steps(data_root: Path, tmp_path,
                                      one_thread) -> None:
    out = tmp_path / 'rows.json'
    args = diag.parse_args([
        '--data-root', str(data_root), '--steps', '2', '--batches', '1',
        '--batch-size', '4', '--workers', '0', '--json', str(out),
        '--cfg-options', *[f'{k}={v}' for k, v in SMALL.items()]])
    rows = diag.run(args)
    assert [row['step'] for row in rows] == [0, 2]
    init = rows[0]
    # 4 videos x (1 future + 2 negatives) x 16 cells of the 4 x 4 grid.
    assert init['num_keys'] == 4 * 3 * 16
    assert init['ln_keys'] == pytest.approx(math.log(4 * 3 * 16))
    assert 0.0 < init['still_share'] < 1.0
    assert 0.0 <= init['loss_floor'] <= init['loss_motion'] + 1e-6
    assert set(init['grad_norm']) == {'motion', 'context', 'total'}
    # The motion loss reaches no keyframe parameter, the context loss no
    # motion-encoder parameter.
    assert init['grad_norm']['motion']['keyframe_backbone'] == 0.0
    assert init['grad_norm']['context']['motion_backbone'] == 0.0
    assert init['grad_norm']['motion']['motion_backbone'] > 0.0
    assert init['clip_share'] in (0.0, 1.0)
    assert rows[1]['train_loss_motion_last'] is not None
    assert diag.main(['--data-root', str(tmp_path / 'nowhere')]) == 1
