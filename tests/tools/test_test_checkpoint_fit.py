"""tools/test.py refuses another model's checkpoint instead of evaluating
random weights; a checkpoint that fits still tests (policy of
mmcmd.utils.checkpoint.check_model_checkpoint)."""
from __future__ import annotations

import re
import sys

import pytest
import torch
from suite_utils import REPO_ROOT, make_tiny_dataset, run_tool

#: launches tools as subprocesses.
pytestmark = pytest.mark.slow

CONFIGS = REPO_ROOT / 'tests' / 'configs'
TEST = REPO_ROOT / 'tools' / 'test.py'


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(working dir with data/tiny, epoch_1.pth of tiny_recognizer3d)."""
    root = tmp_path_factory.mktemp('fit')
    make_tiny_dataset(root)
    result = run_tool([sys.executable, REPO_ROOT / 'tools/train.py',
                       CONFIGS / 'tiny_recognizer3d.py', '--work-dir',
                       root / 'work', '--cfg-options',
                       'train_cfg.max_epochs=1'], root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, root / 'work' / 'epoch_1.pth'


def run_test(root, config: str, checkpoint, name: str):
    return run_tool([sys.executable, TEST, CONFIGS / config, checkpoint,
                     '--work-dir', root / name], root)


def test_other_backbone_on_a_retrieval_config_is_refused(trained):
    root, checkpoint = trained
    # tiny_retrieval_cmd builds an R(2+1)D-10; the checkpoint is a ResNet3d
    result = run_test(root, 'tiny_retrieval_cmd.py', checkpoint, 'other')
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith('error: ')
    assert re.search(rf"{re.escape(repr(str(checkpoint)))} does not match "
                     r'the VideoEmbedder of the config: 0 of \d+ of its '
                     r'tensors fit; \d+ missing: ', lines[0])
    assert 'retrieval/R@1' not in result.stdout


def test_backbone_only_checkpoint_on_a_finetune_config_is_refused(trained):
    """What a pretraining checkpoint gives a finetune config: no head."""
    root, checkpoint = trained
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    backbone = root / 'backbone_only.pth'
    torch.save({'state_dict': {k: v for k, v in state.items()
                               if k.startswith('backbone.')}}, backbone)
    result = run_test(root, 'tiny_recognizer3d.py', backbone, 'head')
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'does not match the Recognizer3D of the ' \
        'config: 120 of 122 of its tensors fit; 2 missing: ' \
        "'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'" in lines[0]
    assert 'acc/top1' not in result.stdout


def test_fitting_checkpoints_still_test(trained):
    root, checkpoint = trained
    result = run_test(root, 'tiny_retrieval.py', checkpoint, 'retrieval')
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    # counts what loads: the backbone; the classification head is ignored
    assert (f'loaded 120 of 122 tensors of {checkpoint} into VideoEmbedder '
            '(2 ignored: cls_head.*)') in log
    assert 'retrieval/R@1' in log
    result = run_test(root, 'tiny_recognizer3d.py', checkpoint, 'same')
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert f'loaded 122 of 122 tensors of {checkpoint} into Recognizer3D' \
        in log
    assert 'acc/top1' in log
