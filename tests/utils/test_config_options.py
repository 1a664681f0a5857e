"""--cfg-options checked against the config (mmcmd.utils.config_options)
and the one-line error of the tools (mmcmd.utils.tool_errors)."""
from __future__ import annotations

import argparse

import pytest
from mmengine.config import Config, DictAction

from mmcmd.engine.runner_config import smoke_batch_size
from mmcmd.utils.config_options import (
    ConfigOptionError,
    check_cfg_options,
    merge_cfg_options,
)
from mmcmd.utils.tool_errors import debug_requested, error_line


def options(*pairs: str) -> dict:
    """``--cfg-options`` as the tools parse them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *pairs]).cfg_options


def config() -> Config:
    return Config(dict(
        train_dataloader=dict(batch_size=16, drop_last=True, dataset=dict(
            type='VideoDataset', ann_file='a.txt',
            pipeline=[dict(type='DecordInit'), dict(type='SampleFrames',
                                                    clip_len=8)])),
        model=dict(type='Recognizer3D', backbone=dict(
            type='ResNet3d', depth=18, pretrained=None)),
        from_scratch=False, pretrained=None, scale=(32, 32),
        work_dir='work_dirs/x'))


def refused(*pairs: str) -> str:
    with pytest.raises(ConfigOptionError) as info:
        check_cfg_options(config(), options(*pairs))
    message = str(info.value)
    assert '\n' not in message
    return message


def test_unknown_top_level_key_names_the_closest():
    message = refused('trian_dataloader.batch_size=4')
    assert message.startswith("unknown key 'trian_dataloader' in "
                              '--cfg-options')
    assert "did you mean 'train_dataloader'?" in message
    assert '+trian_dataloader.batch_size=' in message  # how to add it


def test_unknown_nested_key_names_its_place_and_the_closest():
    message = refused('train_dataloader.dataset.ann_fle=b.txt')
    assert "unknown key 'ann_fle' under 'train_dataloader.dataset'" in message
    assert "did you mean 'ann_file'?" in message


def test_constructor_parameters_count_as_existing_keys():
    import mmcmd
    mmcmd.register_all_modules(init_default_scope=False)
    merged = check_cfg_options(config(), options(
        'model.backbone.base_channels=8',   # a ResNet3d parameter
        'train_dataloader.dataset.pipeline.1.frame_interval=2'))
    assert merged['model.backbone.base_channels'] == 8
    message = refused('model.backbone.base_chanels=8')
    assert "did you mean 'base_channels'?" in message


def test_lists_tuples_and_plain_values_are_walked_correctly():
    assert 'list of 2' in refused('train_dataloader.dataset.pipeline.5.x=1')
    assert "'model.backbone.depth' holds a number" in refused(
        'model.backbone.depth.x=1')
    assert 'holds a tuple of 2' in refused('scale.0=4')


def test_values_keep_their_kind():
    assert 'holds a number there (16), not text' in refused(
        'train_dataloader.batch_size=four')
    assert 'True/False' in refused('from_scratch=yes')
    assert 'holds a dict' in refused('model.backbone=ResNet')
    merged = check_cfg_options(config(), options(
        'pretrained=ckpt.pth', 'work_dir=2024', 'train_dataloader.drop_last='
        'False', 'model.backbone.pretrained=None', 'scale=[64,64]'))
    assert merged['pretrained'] == 'ckpt.pth'  # None in the config
    assert merged['work_dir'] == '2024'  # text stays text
    assert merged['train_dataloader.drop_last'] is False


def test_new_keys_take_a_plus_and_merge():
    cfg = config()
    merge_cfg_options(cfg, options('+model.backbone.frozen=1', '+extra.a=2',
                                   'train_dataloader.batch_size=4'))
    assert cfg.model.backbone.frozen == 1 and cfg.extra.a == 2
    assert cfg.train_dataloader.batch_size == 4
    assert 'holds a number' in refused('+model.backbone.depth.x=1')


def test_smoke_batch_is_shared_by_the_processes():
    assert smoke_batch_size(16, 8, 1) == 8
    assert smoke_batch_size(16, 8, 2) == 4  # 8 videos: one step on each
    assert smoke_batch_size(2, 8, 2) == 2
    assert smoke_batch_size(16, 1, 4) == 1


def test_error_line_and_debug_switch(monkeypatch):
    monkeypatch.delenv('MMCMD_DEBUG', raising=False)
    assert error_line(TypeError('bad\n  argument')) == \
        'error: TypeError: bad argument'
    assert error_line(KeyError('k')) == 'error: KeyError: k'
    try:  # a bare assert: the line that failed is named
        raise AssertionError
    except AssertionError as error:
        assert error_line(error).startswith(
            'error: AssertionError: test_config_options.py line ')
        assert error_line(error).endswith(': raise AssertionError')
    assert not debug_requested(['cfg.py'])
    assert debug_requested(['cfg.py', '--debug'])
    monkeypatch.setenv('MMCMD_DEBUG', '1')
    assert debug_requested(['cfg.py'])
