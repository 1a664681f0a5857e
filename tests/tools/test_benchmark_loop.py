"""tools/analysis/benchmark_loop.py (the loop's cost beside the step) and
tools/analysis/benchmark_train.py at tiny size on the CPU; on a GPU machine
tools/analysis/gpu_check.sh runs both full size."""
from __future__ import annotations

import json
import sys

import pytest
from suite_utils import REPO_ROOT, load_tool, run_tool


def test_median_parts_derives_step_hooks_and_rest():
    tool = load_tool('tools/analysis/benchmark_loop.py')
    records = [
        # seconds: wait, preprocess, train_step (incl. preprocess), 2 hooks
        dict(iteration=1.0, data_wait=0.1, preprocess=0.05, train_step=0.8,
             **{'hook.A': 0.02, 'hook.B': 0.01}),
        dict(iteration=3.0, data_wait=0.3, preprocess=0.05, train_step=2.5,
             **{'hook.A': 0.02}),
        dict(iteration=2.0, data_wait=0.2, preprocess=0.07, train_step=1.6,
             **{'hook.A': 0.04, 'hook.B': 0.01}),
    ]
    parts = tool.median_parts(records)
    assert parts['iteration'] == pytest.approx(2000.0)
    assert parts['step'] == pytest.approx(1530.0)  # median of 750/2450/1530
    assert parts['hooks'] == pytest.approx(30.0)  # median of 30/20/50
    assert parts['hook.B'] == pytest.approx(10.0)  # 0 where not called
    # rest per iteration: 1000-100-50-750-30 = 70, 3000-300-50-2450-20 =
    # 180, 2000-200-70-1530-50 = 150
    assert parts['rest'] == pytest.approx(150.0)
    assert parts['beside_step'] == pytest.approx(250.0)  # 150, 250, 270


def test_loop_parts_on_a_tiny_config(tmp_path):
    # Launched as a command, in a fresh interpreter: the tool must register
    # mmcmd's modules itself (no test has imported mmengine for it).
    report = tmp_path / 'new_folder' / 'loop.json'
    done = run_tool([
        sys.executable, 'tools/analysis/benchmark_loop.py',
        '--config', str(REPO_ROOT / 'tests' / 'configs' /
                        'tiny_cmd_pretrain.py'),
        '--warmup', '1', '--iters', '2', '--step-iters', '1',
        '--workers', '0', '--videos', '2', '--frames', '24',
        '--size', '64x48', '--variants', 'noop,before', '--device', 'cpu',
        '--work-dir', str(tmp_path / 'work'), '--json', str(report)],
        cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(report.read_text())
    rows = {row['name']: row['value'] for row in data['rows']}
    # 'real' runs first (the no-op returns its outputs) but is not reported
    assert not any(name.startswith('real.') for name in rows)
    for variant in ('noop', 'before'):
        hooks = [v for k, v in rows.items()
                 if k.startswith(f'{variant}.hook.')]
        assert rows[f'{variant}.iteration_ms'] > 0
        assert len(hooks) >= 5  # every hook of the runner, by name
    # 'before' reads the log values with mmengine's hook every iteration
    assert 'before.hook.RuntimeInfoHook_ms' in rows
    assert 'noop.hook.DeferredRuntimeInfoHook_ms' in rows
    # ... and its loader workers at the training process's priority
    assert (rows['before.worker_nice'], rows['noop.worker_nice']) == (0, 10)
    # the no-op step costs nothing beside the preprocessor it still runs
    assert rows['noop.step_ms'] < 0.05 * rows['before.step_ms']
    assert rows['noop.preprocess_ms'] > 0
    assert rows['before.isolated_step_ms'] > 0
    assert rows['before.loop_over_step'] == pytest.approx(
        rows['before.iteration_ms'] / rows['before.isolated_step_ms'],
        rel=1e-2)
    assert data['machine']['device'] == 'cpu'
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
