"""Finetune configs refuse to train without a pretraining checkpoint."""
from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from suite_utils import REPO_ROOT

import mmcmd.engine  # noqa: F401  (registers mmcmd's modules)
from mmcmd.engine.hooks.pretrained_checkpoint_hook import checkpoint_hint

CFG = REPO_ROOT / 'tests' / 'configs' / 'tiny_finetune.py'
SOURCE = 'cmd_r2plus1d-26_8xb8-16x4x1-120e_ucf101-rgb'


def runner_for(tmp_path, **options) -> Runner:
    """A Runner of the tiny finetune config that trains 0 epochs."""
    cfg = Config.fromfile(str(CFG))
    cfg.param_scheduler = []  # nothing to schedule in 0 epochs
    cfg.merge_from_dict(dict({'train_cfg.max_epochs': 0,
                              'work_dir': str(tmp_path / 'work')}, **options))
    return Runner.from_cfg(cfg)


def save_cmd_like_checkpoint(path, backbone_state) -> dict:
    """A checkpoint laid out like a CMD one: backbone.* plus other parts."""
    state = {f'backbone.{k}': v.clone() + 0.5 for k, v in
             backbone_state.items()}
    state['motion_backbone.conv1.weight'] = torch.zeros(2)
    state['motion_backbone.bn1.bias'] = torch.zeros(2)
    state['context_head.fc.weight'] = torch.zeros(2)
    state['backbone.unused.weight'] = torch.zeros(2)  # not in the model
    state['step'] = torch.zeros(1)
    torch.save({'state_dict': state, 'meta': {}}, str(path))
    return state


def test_the_shipped_configs_name_their_source():
    cfg = Config.fromfile(str(CFG))
    assert cfg.pretrained is None and cfg.from_scratch is False
    assert cfg.pretrain_config == f'configs/cmd/{SOURCE}.py'
    assert checkpoint_hint(cfg.pretrain_config) == (
        f'work_dirs/{SOURCE}/epoch_120.pth')
    assert checkpoint_hint(None) == (
        'work_dirs/<pretraining config>/epoch_120.pth')


def test_training_without_checkpoint_is_refused(tiny_dataset, monkeypatch):
    monkeypatch.chdir(tiny_dataset)
    runner = runner_for(tiny_dataset)
    with pytest.raises(RuntimeError) as error:
        runner.train()
    message = str(error.value)
    assert '\n' not in message
    assert (f'--cfg-options pretrained=work_dirs/{SOURCE}/epoch_120.pth'
            in message)
    assert '--cfg-options from_scratch=True' in message


def test_from_scratch_flag_trains_from_random_init(tiny_dataset,
                                                   monkeypatch):
    monkeypatch.chdir(tiny_dataset)
    runner = runner_for(tiny_dataset, from_scratch=True)
    runner.train()
    backbone = runner.model.backbone
    assert getattr(backbone, 'pretrained_summary', None) is None
    assert backbone.conv1_s.weight.std() > 0


def test_pretrained_checkpoint_is_loaded_and_summarised(tiny_dataset,
                                                        monkeypatch):
    monkeypatch.chdir(tiny_dataset)
    runner = runner_for(tiny_dataset)
    own = runner.model.backbone.state_dict()
    path = tiny_dataset / 'pretrain.pth'
    state = save_cmd_like_checkpoint(path, own)
    runner = runner_for(tiny_dataset, pretrained=str(path))
    runner.train()
    backbone = runner.model.backbone
    assert torch.equal(backbone.conv1_s.weight,
                       state['backbone.conv1_s.weight'])
    assert backbone.pretrained_summary == dict(
        loaded=len(own), total=len(own) + 5, ignored=5,
        ignored_groups=['backbone.unused.*', 'context_head.*',
                        'motion_backbone.*', 'step'])


def test_two_different_checkpoints_are_refused(tiny_dataset, monkeypatch):
    monkeypatch.chdir(tiny_dataset)
    runner = runner_for(tiny_dataset, pretrained='a.pth', **{
        'model.backbone.init_cfg.checkpoint': 'b.pth'})
    with pytest.raises(ValueError, match='set only --cfg-options pretrained'):
        runner.train()


def test_testing_runs_are_not_checked(tiny_dataset, monkeypatch):
    monkeypatch.chdir(tiny_dataset)
    runner = runner_for(tiny_dataset)
    hook = next(h for h in runner.hooks
                if type(h).__name__ == 'PretrainedCheckpointHook')
    hook.before_run(runner)  # the train loop is not built: no refusal
