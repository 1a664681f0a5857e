"""A converted ModelScope checkpoint drives tools/test.py and finetuning."""
from __future__ import annotations

import json
import re
import sys

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from suite_utils import REPO_ROOT, make_tiny_dataset, run_tool

import mmcmd  # noqa: F401

#: launches tools as subprocesses or trains several models.
pytestmark = pytest.mark.slow

SPEC = REPO_ROOT / 'tests' / 'data' / 'specs' / 'modelscope_backbones.json'
FINETUNE = (REPO_ROOT / 'configs' / 'finetune' /
            'finetune_r2plus1d-26_1xb8-16x4x1-120e_ucf101-split1-rgb.py')


def fake_modelscope_checkpoint(path):
    shapes = json.loads(SPEC.read_text())['r2plus1d_26']['state_dict']
    gen = torch.Generator().manual_seed(0)
    state = {k: (torch.randn(s, generator=gen) * 0.05 if s else
                 torch.tensor(0)) for k, s in shapes.items()}
    for key in state:
        if key.endswith('running_var'):
            state[key] = state[key].abs() + 1.0
    torch.save(state, str(path))
    return state


def test_modelscope_checkpoint_to_retrieval_and_finetune(tmp_path):
    make_tiny_dataset(tmp_path)
    raw, converted = tmp_path / 'pytorch_model.pt', tmp_path / 'cmd.pth'
    state = fake_modelscope_checkpoint(raw)
    result = run_tool([sys.executable,
                       REPO_ROOT / 'tools/convert/modelscope_to_mmcmd.py',
                       raw, converted], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    # tools/test.py: the real retrieval config on tiny clips, depth 26
    test = run_tool([sys.executable, REPO_ROOT / 'tools/test.py',
                     REPO_ROOT / 'tests/configs/tiny_retrieval_cmd.py',
                     converted, '--work-dir', tmp_path / 'w', '--cfg-options',
                     'model.backbone.depth=26',
                     'model.backbone.base_channels=64'], tmp_path)
    log = test.stdout + test.stderr
    assert test.returncode == 0, log[-3000:]
    assert re.search(r'retrieval/R@1: [0-9.]+', log)

    # finetune config: the same tensors arrive through the one option
    cfg = Config.fromfile(str(FINETUNE))
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint':
                         str(converted)})
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    for key in ('conv1_s.weight', 'layer4.1.conv3.weight',
                'layer2.0.bn2_t.running_var'):
        assert torch.equal(model.backbone.state_dict()[key], state[key])
