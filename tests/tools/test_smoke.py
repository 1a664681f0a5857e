"""tools/train.py --smoke, the too-small-dataset error, worker settings and
the logged dist backend, on shipped configs and tiny generated videos;
the recipe for pretraining on a folder of one's own videos."""
from __future__ import annotations

import os

import pytest
import torch
from mmengine.config import Config
from suite_utils import REPO_ROOT, load_tool

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')

#: a shipped CMD config small enough to train one step on a CPU in seconds
SYNTHETIC_CMD = str(REPO_ROOT / 'configs' / 'synthetic' /
                    'cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py')
UCF101_CMD = str(REPO_ROOT / 'configs' / 'cmd' /
                 'cmd_r2plus1d-26_8xb8-16x4x1-120e_ucf101-rgb.py')
FINETUNE = str(REPO_ROOT / 'configs' / 'finetune' /
               'finetune_r2plus1d-26_1xb8-16x4x1-120e_ucf101-split1-rgb.py')
RETRIEVAL = str(REPO_ROOT / 'configs' / 'retrieval' /
                'retrieval_r2plus1d-26_16x4x10_ucf101-split1-rgb.py')
CUSTOM = str(REPO_ROOT / 'configs' / 'cmd' /
             'cmd_r2plus1d-26_1xb8-16x4x1-120e_custom-rgb.py')
TINY_DATA = ['train_dataloader.dataset.ann_file=data/tiny/train.txt',
             'train_dataloader.dataset.data_prefix.video=data/tiny/videos']


def merged(tool, argv) -> Config:
    """The config a tool would build its Runner from (without running)."""
    args = tool.parse_args(argv)
    cfg = tool.merge_args(Config.fromfile(args.config), args)
    return tool.adapt_to_device(tool.fix_worker_settings(cfg))


def test_smoke_shrinks_a_config_consistently():
    cfg = merged(train_tool, [FINETUNE, '--smoke'])
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        assert loader.num_workers == 0 and not loader.persistent_workers
        assert loader.dataset.indices == train_tool.SMOKE_SAMPLES
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_cfg.max_epochs == 1 and cfg.train_cfg.val_interval == 1
    assert cfg.default_hooks.logger.interval == 1
    assert cfg.default_hooks.checkpoint.interval == 1
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    assert cfg.default_hooks.checkpoint.save_optimizer is False
    assert cfg.default_hooks.checkpoint.save_best is None  # one file
    assert cfg.work_dir.endswith(
        'finetune_r2plus1d-26_1xb8-16x4x1-120e_ucf101-split1-rgb_smoke')
    # a smaller N also caps the batch; --cfg-options still win
    cfg = merged(train_tool, [UCF101_CMD, '--smoke', '3', '--cfg-options',
                              'train_cfg.max_epochs=2'])
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.train_dataloader.dataset.indices == 3
    assert cfg.train_cfg.max_epochs == 2
    # test.py: both halves of a retrieval set
    cfg = merged(test_tool, [RETRIEVAL, 'ckpt.pth', '--smoke', '2'])
    dataset = cfg.test_dataloader.dataset
    assert dataset.gallery.indices == 2 and dataset.query.indices == 2
    assert cfg.test_dataloader.num_workers == 0
    with pytest.raises(SystemExit):
        train_tool.parse_args([UCF101_CMD, '--smoke', '0'])


@pytest.mark.parametrize('config', [UCF101_CMD, FINETUNE, RETRIEVAL],
                         ids=['cmd', 'finetune', 'retrieval'])
def test_no_workers_means_no_persistent_workers(tiny_dataset, monkeypatch,
                                                config):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    tool = test_tool if config == RETRIEVAL else train_tool
    name = 'test_dataloader' if config == RETRIEVAL else 'train_dataloader'
    argv = [config] + (['ckpt.pth'] if tool is test_tool else [])
    cfg = merged(tool, argv + ['--cfg-options', f'{name}.num_workers=0'])
    assert cfg[name].persistent_workers is False
    assert merged(tool, argv)[name].persistent_workers is True  # unchanged
    if config == UCF101_CMD:  # torch builds the loader (it refused before)
        monkeypatch.chdir(tiny_dataset)
        loader_cfg = cfg.train_dataloader
        # The tiny videos are shorter than the recipe's 71-frame span.
        loader_cfg.dataset.update(ann_file='data/tiny/train.txt',
                                  data_prefix=dict(video='data/tiny/videos'),
                                  short_videos='loop')
        loader_cfg.batch_size = 2
        with DefaultScope.overwrite_default_scope('mmaction'):
            loader = Runner.build_dataloader(loader_cfg)
        assert len(loader) == 3


def test_dist_backend_is_the_one_used(monkeypatch):
    monkeypatch.delenv('MMCMD_DIST_BACKEND', raising=False)
    cfg = merged(train_tool, [UCF101_CMD])
    expected = 'nccl' if torch.cuda.is_available() else 'gloo'
    assert cfg.env_cfg.dist_cfg.backend == expected
    monkeypatch.setenv('MMCMD_DIST_BACKEND', 'mpi')
    assert merged(train_tool, [UCF101_CMD]).env_cfg.dist_cfg.backend == 'mpi'
    assert merged(test_tool, [RETRIEVAL, 'c.pth']).env_cfg.dist_cfg.backend \
        == 'mpi'


def test_pinned_memory_only_with_a_gpu():
    # the CMD pretraining configs pin their training batches
    assert Config.fromfile(UCF101_CMD).train_dataloader.pin_memory is True
    cfg = merged(train_tool, [UCF101_CMD])
    assert cfg.train_dataloader.pin_memory is torch.cuda.is_available()


@pytest.mark.slow  # trains a model
def test_smoke_trains_one_iteration_of_a_shipped_config(tiny_dataset,
                                                        monkeypatch):
    monkeypatch.chdir(tiny_dataset)
    work = tiny_dataset / 'smoke'
    code = train_tool.run([SYNTHETIC_CMD, '--smoke', '2', '--work-dir',
                           str(work), '--cfg-options', *TINY_DATA])
    assert code == 0
    ckpt = torch.load(str(work / 'epoch_1.pth'), weights_only=True,
                      map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
    assert ckpt['meta']['iter'] == 1  # 2 videos, batch 2: one step
    assert 'optimizer' not in ckpt and 'state_dict' in ckpt
    assert sorted(p.name for p in work.glob('*.pth')) == ['epoch_1.pth']


def test_smoke_batch_is_per_process(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')
    cfg = merged(train_tool, [SYNTHETIC_CMD, '--smoke', '--launcher',
                              'pytorch'])
    assert cfg.train_dataloader.batch_size == 4  # 8 videos, 2 processes
    assert cfg.train_dataloader.dataset.indices == 8


@pytest.mark.slow  # two training processes
def test_smoke_with_two_processes_on_the_smallest_synthetic_set(tmp_path):
    """docs/workflows.md: the smallest generated set (1 video per class,
    10 in train.txt) and --smoke (8 videos) with tools/dist_train.sh 2."""
    import sys

    from suite_utils import free_port, run_tool
    generated = run_tool([sys.executable, REPO_ROOT / 'tools/data/synthetic/'
                          'generate.py', '--out', 'data/synthetic',
                          '--num-train-per-class', '1',
                          '--num-test-per-class', '1', '--quiet'], tmp_path)
    assert generated.returncode == 0, generated.stderr[-3000:]
    result = run_tool(
        ['bash', REPO_ROOT / 'tools/dist_train.sh', SYNTHETIC_CMD, '2',
         '--smoke'], tmp_path,
        env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'Epoch(train) [1][1/1]' in log  # batch 4 on each process
    work = (tmp_path / 'work_dirs' /
            'cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic_smoke')
    assert sorted(p.name for p in work.glob('*.pth')) == ['epoch_1.pth']
    ckpt = torch.load(str(work / 'epoch_1.pth'), weights_only=True,
                      map_location='cpu')
    assert 'optimizer' not in ckpt


def test_dataset_smaller_than_a_batch_is_one_clear_error(tiny_dataset,
                                                         monkeypatch):
    monkeypatch.chdir(tiny_dataset)
    with pytest.raises(SystemExit) as info:  # 6 videos, batch 16
        train_tool.run([SYNTHETIC_CMD, '--work-dir', str(tiny_dataset / 'w'),
                        '--cfg-options', *TINY_DATA])
    message = str(info.value.code)
    assert message.startswith('error: the training set data/tiny/train.txt '
                              'has 6 videos, fewer than one batch of 16')
    assert 'train_dataloader.batch_size=N' in message
    assert '\n' not in message


def test_own_videos_recipe_builds_the_custom_config_dataset(tiny_dataset,
                                                           monkeypatch):
    """tools/data/build_video_list.py on a folder -> the custom config's
    default paths -> its training set loads a CMD sample."""
    from mmaction.registry import DATASETS
    from mmengine.registry import DefaultScope
    monkeypatch.chdir(tiny_dataset)
    os.makedirs('data/custom')
    os.symlink(os.path.abspath('data/tiny/videos'), 'data/custom/videos')
    tool = load_tool('tools/data/build_video_list.py')
    assert tool.main(['data/custom/videos',
                      '--out', 'data/custom/train_list.txt']) == 0
    lines = open('data/custom/train_list.txt').read().splitlines()
    assert lines[:2] == ['class0/video0.mp4 0', 'class0/video1.mp4 0']
    assert len(lines) == 6
    cfg = Config.fromfile(CUSTOM)
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(5e-4 * 8)
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    # Videos under the 71-frame span are dropped; the tiny ones are shorter.
    assert cfg.train_dataloader.dataset.short_videos == 'drop'
    cfg.train_dataloader.dataset.short_videos = 'loop'
    with DefaultScope.overwrite_default_scope('mmaction'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        sample = dataset[0]
    assert len(dataset) == 6
    assert tuple(sample['inputs']['imgs'].shape[-3:]) == (16, 112, 112)


def test_an_empty_file_gets_the_readers_message_in_every_tool(tmp_path,
                                                             capsys):
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    expected = f'{empty}: VideoOpenError: the file is empty (0 bytes)'
    reencode = load_tool('tools/data/reencode.py')
    assert reencode.main([str(empty), str(tmp_path / 'out')]) == 1
    assert f'  failed {expected}\n' in capsys.readouterr().err
    check = load_tool('tools/analysis/check_videos.py')
    # no video could be read: status 2, the reason also in the error line
    assert check.main([str(empty), '--workers', '1']) == 2
    out, err = capsys.readouterr()
    assert f'  BAD {expected}\n' in out and f'(the first, {expected})' in err


@pytest.mark.parametrize('script', [
    'tools/train.py', 'tools/test.py', 'tools/analysis/check_videos.py',
    'tools/data/reencode.py', 'tools/data/build_video_list.py'])
def test_help_text_lines_are_whole(script, capsys, monkeypatch):
    monkeypatch.setenv('COLUMNS', '80')
    with pytest.raises(SystemExit):
        load_tool(script).main(['--help'])
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 80
    assert 'model.\n' not in text
    for line in text.splitlines():
        if line.lstrip().startswith('python tools/'):
            assert '  --' not in line  # examples keep their line breaks
