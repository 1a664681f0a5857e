"""Each preset of :mod:`mmcmd.models.presets` is the model dict of the
config it mirrors (``configs/_base_/models/cmd_<name>.py``)."""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config

from mmcmd.models.presets import CLIP_BACKBONES, cmd_model_cfg, variant_names

MODELS = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'models'


def test_one_preset_per_model_config():
    configs = sorted(p.name[len('cmd_'):-len('.py')]
                     for p in MODELS.glob('cmd_*.py'))
    assert variant_names() == configs == ['c3d', 'r2plus1d-26', 'r3d-26']


@pytest.mark.parametrize('name', ['c3d', 'r2plus1d-26', 'r3d-26'])
def test_preset_equals_its_config(name):
    model = Config.fromfile(str(MODELS / f'cmd_{name}.py')).to_dict()['model']
    assert cmd_model_cfg(name) == model
    assert CLIP_BACKBONES[name] == model['backbone']


def test_presets_are_fresh_copies():
    cfg = cmd_model_cfg('r3d-26')
    cfg['backbone']['depth'] = 50
    assert cmd_model_cfg('r3d-26')['backbone']['depth'] == 26
    with pytest.raises(KeyError, match='r2plus1d-26'):
        cmd_model_cfg('r50')
