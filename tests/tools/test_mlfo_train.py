"""tools/train.py on MLFO configs (the UCF101 recipe and the synthetic twin),
shrunk to tiny generated videos: the graph loss switches on at its epoch,
the checkpoint holds the queue and the prototypes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from suite_utils import REPO_ROOT, run_tool, write_test_video

#: launches tools as subprocesses.
pytestmark = pytest.mark.slow

GRAPH_KEYS = {'loss_graph_low', 'loss_graph_mid', 'loss_graph_high'}


def tiny_videos(root: Path, frames: int) -> None:
    """4 videos of ``frames`` frames, 64x48, and their list."""
    names = [f'v{i}.mp4' for i in range(4)]
    for i, name in enumerate(names):
        write_test_video(str(root / 'videos' / name), num_frames=frames,
                         size=(64, 48), seed=i)
    (root / 'train.txt').write_text(
        ''.join(f'{name} {i % 2}\n' for i, name in enumerate(names)))


def logged_epochs(work: Path) -> dict:
    """Per epoch, the union of the keys of the logged training iterations
    (vis_data/scalars.json), and the logged values."""
    lines = [json.loads(line) for line in
             next(work.glob('*/vis_data/scalars.json')).read_text()
             .splitlines()]
    epochs: dict = {}
    for row in lines:
        if 'epoch' in row and 'loss' in row:
            epochs.setdefault(row['epoch'], []).append(row)
    return epochs


def train(config: str, root: Path, options: list) -> Path:
    work = root / 'work'
    common = ['train_dataloader.dataset.ann_file=train.txt',
              'train_dataloader.dataset.data_prefix.video=videos',
              'train_dataloader.batch_size=2',
              'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False',
              'train_cfg.max_epochs=2', 'default_hooks.logger.interval=1',
              'default_hooks.checkpoint.interval=1']
    result = run_tool([sys.executable, str(REPO_ROOT / 'tools/train.py'),
                       str(REPO_ROOT / config), '--work-dir', str(work),
                       '--cfg-options', *common, *options], root,
                      env=dict(OMP_NUM_THREADS='1'))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return work


def check_graph_switch(work: Path, last_epoch_file: str) -> None:
    epochs = logged_epochs(work)
    assert sorted(epochs) == [1, 2]
    # split = 1 (0-based): no graph loss in epoch 1, all levels in epoch 2
    assert not GRAPH_KEYS & set().union(*map(set, epochs[1]))
    for row in epochs[2]:
        assert GRAPH_KEYS <= set(row)
        assert all(row[k] > 0 for k in GRAPH_KEYS)
    ckpt = torch.load(str(work / last_epoch_file), weights_only=True)
    state = ckpt['state_dict']
    assert state['proto_head.queue'].shape[2] == state[
        'proto_head.prototypes.weight'].shape[0]
    # the queue was filled by training (not its random initial rows)
    assert state['proto_head.queue'][:2].abs().max() <= 1 + 1e-5


def test_train_the_ucf101_recipe_on_tiny_videos(tmp_path):
    tiny_videos(tmp_path, frames=40)
    work = train('configs/mlfo/mlfo_r3d-18_4xb64-16x3x1-300e_ucf101-rgb.py',
                 tmp_path,
                 ['model.backbone.base_channels=8',
                  'model.clip_shape=[16,32,32]',
                  'model.num_prototypes=5', 'model.queue_length=8',
                  'train_dataloader.dataset.pipeline.1.transforms.1.scale='
                  '[32,32]',
                  'custom_hooks.1.graph_start_epoch=1',
                  'custom_hooks.1.queue_start_epoch=1'])
    check_graph_switch(work, 'epoch_2.pth')
    state = torch.load(str(work / 'epoch_2.pth'),
                       weights_only=True)['state_dict']
    assert tuple(state['proto_head.queue'].shape) == (8, 2, 5)  # --cluster honoured


def test_train_the_synthetic_twin_on_tiny_videos(tmp_path):
    tiny_videos(tmp_path, frames=48)
    work = train('configs/synthetic/'
                 'mlfo_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py', tmp_path,
                 ['custom_hooks.1.graph_start_epoch=1'])
    check_graph_switch(work, 'epoch_2.pth')
