"""Pretrain -> finetune -> test, pretrain -> retrieval, pretrain on 2 ranks.

Everything through tools/train.py, tools/test.py and tools/dist_train.sh on
generated videos, with the real configs shrunk by tests/configs/tiny_*.py.
"""
from __future__ import annotations

import re
import sys

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from suite_utils import REPO_ROOT, free_port, make_tiny_dataset, run_tool

import mmcmd  # noqa: F401

#: launches tools as subprocesses or trains several models.
pytestmark = pytest.mark.slow

CFGS = REPO_ROOT / 'tests' / 'configs'
TRAIN, TEST = REPO_ROOT / 'tools' / 'train.py', REPO_ROOT / 'tools' / 'test.py'


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """A CMD checkpoint from 2 tiny epochs of tools/train.py."""
    root = tmp_path_factory.mktemp('workflow')
    make_tiny_dataset(root)
    result = run_tool([sys.executable, TRAIN, CFGS / 'tiny_cmd_pretrain.py',
                       '--work-dir', root / 'pretrain'], root)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'loss_context' in log and 'loss_motion' in log
    return root, root / 'pretrain' / 'epoch_2.pth'


def backbone_tensor(ckpt, key='backbone.conv1_s.weight'):
    return torch.load(str(ckpt), weights_only=True)['state_dict'][key]


@pytest.mark.parametrize('config', ['tiny_finetune.py', 'linear'])
def test_pretrained_weights_arrive_through_one_option(pretrained, config):
    root, ckpt = pretrained
    cfg = Config.fromfile(str(CFGS / 'tiny_finetune.py'))
    if config == 'linear':  # the linear-probe wrapping of the same backbone
        linear = Config.fromfile(str(
            REPO_ROOT / 'configs/linear/'
            'linear_r2plus1d-26_1xb64-16x4x1-100e_ucf101-split1-rgb.py'))
        linear.model.backbone.backbone = cfg.model.backbone
        linear.model.cls_head = cfg.model.cls_head
        cfg = linear
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(ckpt)})
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    before = model.backbone.conv1_s.weight.detach().clone()
    model.init_weights()
    expected = backbone_tensor(ckpt)
    assert not torch.equal(before, expected)
    assert torch.equal(model.backbone.conv1_s.weight, expected)


def test_finetune_from_pretraining_then_test(pretrained):
    root, ckpt = pretrained
    cfg = CFGS / 'tiny_finetune.py'
    result = run_tool([sys.executable, TRAIN, cfg, '--work-dir', root / 'ft',
                       '--cfg-options', f'pretrained={ckpt}'], root)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    finetuned = root / 'ft' / 'epoch_1.pth'
    # the finetune started from the pretrained stem: it moved, but little
    start, end = backbone_tensor(ckpt), backbone_tensor(finetuned)
    assert (end - start).abs().max() < 0.5 * start.abs().max()
    test = run_tool([sys.executable, TEST, cfg, finetuned, '--work-dir',
                     root / 'ft'], root)
    assert test.returncode == 0, test.stderr[-3000:]
    acc = re.search(r'acc/top1: ([0-9.]+)', test.stdout + test.stderr)
    assert acc and 0.0 <= float(acc.group(1)) <= 1.0


def test_retrieval_from_pretraining(pretrained):
    root, ckpt = pretrained
    result = run_tool([sys.executable, TEST, CFGS / 'tiny_retrieval_cmd.py',
                       ckpt, '--work-dir', root / 'ret'], root)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    values = dict(re.findall(r'retrieval/(R@\d+): ([0-9.]+)', log))
    assert set(values) == {'R@1', 'R@5'}


def test_retrieval_refuses_checkpoint_without_backbone(pretrained, tmp_path):
    root, _ = pretrained
    bare = tmp_path / 'bare.pth'
    torch.save({'state_dict': {'conv1_s.weight': torch.zeros(1)}}, str(bare))
    result = run_tool([sys.executable, TEST, CFGS / 'tiny_retrieval_cmd.py',
                       bare, '--work-dir', root / 'ret2'], root)
    assert result.returncode == 1
    # refused before loading, naming the file, the model and the keys
    assert f"{str(bare)!r} does not match the VideoEmbedder of the config: " \
        "0 of " in result.stderr
    assert "missing: 'backbone." in result.stderr


def test_pretraining_with_two_processes(pretrained):
    root, _ = pretrained
    result = run_tool(
        ['bash', REPO_ROOT / 'tools/dist_train.sh', CFGS / 'tiny_cmd_pretrain.py',
         '2', '--work-dir', root / 'dist', '--cfg-options',
         'train_cfg.max_epochs=1'], root,
        env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'Distributed training: True' in log
    # 6 videos, 3 per process, 2 per step, the last partial batch dropped
    assert 'Epoch(train) [1][1/1]' in log
    assert (root / 'dist' / 'epoch_1.pth').is_file()
