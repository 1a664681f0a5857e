"""tools/analysis/gpu_check.py (the training-loop loader check) at tiny size
on the CPU; on a GPU machine tools/analysis/gpu_check.sh runs it full size."""
from __future__ import annotations

import json

import pytest
from suite_utils import REPO_ROOT, load_tool


def test_wait_share_is_wait_over_loop_time():
    tool = load_tool('tools/analysis/gpu_check.py')
    waits = [9.0, 0.1, 0.3, 0.2]  # the first iteration is skipped
    steps = [5.0, 0.9, 0.7, 0.8]
    rows = {r['name']: r['value'] for r in tool.summarise(waits, steps, 8, 1)}
    assert rows['loader_wait_share'] == pytest.approx(0.6 / 3.0)
    assert rows['loader_wait_ms'] == pytest.approx(200.0)
    assert rows['step_ms'] == pytest.approx(800.0)
    assert rows['samples_per_s'] == pytest.approx(3 * 8 / 3.0)
    assert rows['measured_iterations'] == 3


def test_training_loop_runs_on_generated_videos(tmp_path):
    tool = load_tool('tools/analysis/gpu_check.py')
    report = tmp_path / 'loop.json'
    code = tool.main([
        '--config', str(REPO_ROOT / 'tests' / 'configs' /
                        'tiny_cmd_pretrain.py'),
        '--iters', '2', '--skip', '0', '--workers', '0', '--videos', '2',
        '--frames', '24', '--size', '64x48', '--amp', 'none',
        '--work-dir', str(tmp_path / 'work'), '--json', str(report)])
    assert code == 0
    data = json.loads(report.read_text())
    rows = {row['name']: row['value'] for row in data['rows']}
    assert rows['measured_iterations'] == 2
    assert 0.0 < rows['loader_wait_share'] < 1.0
    assert rows['step_ms'] > 0 and rows['samples_per_s'] > 0
    assert data['machine']['batch'] == 2
    listing = (tmp_path / 'work' / 'train.txt').read_text().splitlines()
    assert listing == ['pan_0000.mp4 0', 'pan_0001.mp4 0']


def test_benchmark_train_runs_bf16_supervised_step(tmp_path):
    # The supervised step under bf16 autocast (mmaction's head computes its
    # accuracy in numpy, which refuses bf16 scores) at tiny size on the CPU.
    tool = load_tool('tools/analysis/benchmark_train.py')
    report = tmp_path / 'train.json'
    assert tool.main(['--tiny', '--device', 'cpu', '--batch', '2',
                      '--iters', '1', '--warmup', '0', '--amp', 'bf16',
                      '--json', str(report)]) == 0
    data = json.loads(report.read_text())
    rows = {row['name']: row['value'] for row in data['rows']}
    for name in ('fp32/cmd/step_time', 'bf16/cmd/step_time',
                 'bf16/supervised/step_time'):
        assert rows[name] > 0
    assert rows['bf16/cmd_over_supervised_step_time'] == pytest.approx(
        rows['bf16/cmd/step_time'] / rows['bf16/supervised/step_time'],
        rel=0.01)
    assert data['config']['clip'] == '8x32x32'
