"""The config tree is shallow, as in mmaction2: a config inherits the bases
of ``configs/_base_/`` (models, datasets, schedules, default_runtime.py) or
a sibling of its own folder, and no chain of ``_base_`` files, mmaction2's
own bases included, is longer than 3 files counting the config."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from mmengine.config import Config
from suite_utils import REPO_ROOT

CONFIG_ROOT = REPO_ROOT / 'configs'
BASE_ROOT = CONFIG_ROOT / '_base_'
MAX_DEPTH = 3
#: configs/synthetic/ has its own bases (docs/scene_bias.md)
OWN_TREE = [p for p in sorted(CONFIG_ROOT.rglob('*.py'))
            if p.relative_to(CONFIG_ROOT).parts[0] != 'synthetic']
LEAVES = [p for p in OWN_TREE if '_base_' not in p.parts]


def direct_bases(path: Path) -> list:
    """The files of ``_base_`` resolved as mmengine resolves them
    (``mmaction::`` paths to the installed package)."""
    return [Path(Config._get_cfg_path(base, str(path))[0]).resolve()
            for base in Config._get_base_files(str(path))]


@lru_cache(maxsize=None)
def depth(path: Path) -> int:
    """Files in the longest ``_base_`` chain that starts at ``path``."""
    return 1 + max((depth(base) for base in direct_bases(path)), default=0)


def test_depth_counts_every_file_of_a_chain():
    runtime = BASE_ROOT / 'default_runtime.py'
    # default_runtime.py -> mmaction's default_runtime.py
    assert [b.name for b in direct_bases(runtime)] == ['default_runtime.py']
    assert depth(runtime) == 2
    assert depth(BASE_ROOT / 'datasets' / 'embedding_pipeline.py') == 1
    assert max(depth(p) for p in LEAVES) == MAX_DEPTH


@pytest.mark.parametrize('path', OWN_TREE,
                         ids=lambda p: str(p.relative_to(CONFIG_ROOT)))
def test_inheritance_is_shallow(path):
    assert depth(path) <= MAX_DEPTH, (
        f'{path.relative_to(REPO_ROOT)} inherits {depth(path) - 1} levels '
        f'of _base_ files; inherit configs/_base_/{{models,datasets,'
        f'schedules}}/*.py and default_runtime.py directly')


BASE_FOLDERS = {BASE_ROOT / 'models', BASE_ROOT / 'datasets',
                BASE_ROOT / 'schedules'}


@pytest.mark.parametrize('path', LEAVES,
                         ids=lambda p: str(p.relative_to(CONFIG_ROOT)))
def test_configs_inherit_the_base_folders_or_a_sibling(path):
    for base in direct_bases(path):
        assert (base.parent in BASE_FOLDERS
                or base == BASE_ROOT / 'default_runtime.py'
                or base.parent == path.parent), (path.name, str(base))


def test_imagenet_mean_std_is_defined_once():
    holders = [p.relative_to(CONFIG_ROOT).as_posix() for p in OWN_TREE
               if '123.675' in p.read_text() or '58.395' in p.read_text()]
    assert holders == ['_base_/models/rgb_preprocessor.py']
    models = {Path(p).name: Config.fromfile(str(p)).model
              for p in (BASE_ROOT / 'models').glob('recognizer_*.py')}
    assert len(models) == 5  # c3d, i3d, r2plus1d-26, r3d-18, r3d-26
    for model in models.values():
        assert model.data_preprocessor.mean == [123.675, 116.28, 103.53]
        assert model.data_preprocessor.std == [58.395, 57.12, 57.375]
