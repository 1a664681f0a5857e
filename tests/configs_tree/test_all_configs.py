"""Every config of configs/ loads with Config.fromfile and builds its model."""
from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmcmd  # noqa: F401
from suite_utils import REPO_ROOT
from mmaction.registry import MODELS

CONFIGS = sorted(p for p in (REPO_ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)


def test_the_tree_has_every_family():
    names = {p.parent.name for p in CONFIGS}
    assert {'cmd', 'finetune', 'linear', 'retrieval', 'embedding'} <= names
    tags = ('c3d', 'r2plus1d-26', 'r3d-26')
    for family in ('cmd', 'finetune', 'linear', 'retrieval', 'embedding'):
        for tag in tags:
            assert any(f'_{tag}_' in p.name for p in CONFIGS
                       if p.parent.name == family), (family, tag)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(str(path))
    assert cfg.get('default_scope') == 'mmaction'
    assert 'mmcmd' in cfg.custom_imports['imports']
    with torch.device('meta'), DefaultScope.overwrite_default_scope(
            'mmaction'):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
