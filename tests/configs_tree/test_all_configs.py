"""Every config of configs/ loads with Config.fromfile, builds its model and
takes the data override keys that docs/datasets.md documents."""
from __future__ import annotations

import copy
import gc
import re

import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from suite_utils import REPO_ROOT

import mmcmd.datasets  # noqa: F401  (registers mmcmd's modules)

CONFIGS = sorted(p for p in (REPO_ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)
_LOADED: dict = {}


def load(path) -> Config:
    """A fresh copy of the config (each file is parsed once per session)."""
    if path not in _LOADED:
        _LOADED[path] = Config.fromfile(str(path))
    return copy.deepcopy(_LOADED[path])


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
    cfg = load(path)
    assert cfg.get('default_scope') == 'mmaction'
    assert 'mmcmd' in cfg.custom_imports['imports']
    with torch.device('meta'), DefaultScope.overwrite_default_scope(
            'mmaction'):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


def documented_override_keys() -> list:
    """The ``X_dataloader.dataset...=VALUE`` keys of docs/datasets.md."""
    text = (REPO_ROOT / 'docs' / 'datasets.md').read_text()
    return sorted(set(re.findall(
        r'`((?:train|val|test)_dataloader\.dataset\.[\w.]+)=[^`]*`', text)))


OVERRIDES = documented_override_keys()


def test_the_docs_document_one_key_per_split():
    for split in ('train', 'val', 'test'):
        assert f'{split}_dataloader.dataset.ann_file' in OVERRIDES
        assert f'{split}_dataloader.dataset.data_prefix.video' in OVERRIDES
    for role in ('query', 'gallery'):
        assert f'test_dataloader.dataset.{role}.ann_file' in OVERRIDES
    assert 'train_dataloader.dataset.skip_bad_videos.seed' in OVERRIDES
    assert 'train_dataloader.dataset.skip_bad_videos' in OVERRIDES


def applicable(key: str, dataset: dict) -> bool:
    """Whether a documented key is meant for this kind of dataset."""
    retrieval = dataset.get('type') == 'VideoRetrievalDataset'
    if key.endswith('.skip_bad_videos'):
        return False  # turning skipping off: checked on its own
    if '.query.' in key or '.gallery.' in key:
        return retrieval
    if '.skip_bad_videos.' in key:
        return dataset.get('skip_bad_videos') is not None
    return not retrieval


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_documented_data_overrides_apply(path, tmp_path, monkeypatch):
    cfg = load(path)
    monkeypatch.chdir(tmp_path)
    # BaseDataset runs a full gc.collect() per dataset (0.4 s in this
    # process full of models); it changes nothing checked here.
    monkeypatch.setattr(gc, 'collect', lambda *args: 0)
    (tmp_path / 'videos').mkdir()
    (tmp_path / 'list.txt').write_text('a.mp4 0\nb.mp4 1\nc.mp4 2\n')
    values = {'ann_file': 'list.txt', 'video': 'videos',
              'max_attempts': 7, 'seed': 3}
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader', None)
        if not loader:
            continue
        if split == 'train':  # every training set skips bad videos
            assert loader.dataset.get('skip_bad_videos'), path.name
        keys = [k for k in OVERRIDES if k.startswith(f'{split}_dataloader.')
                and applicable(k, loader.dataset)]
        assert any(k.endswith('.ann_file') for k in keys), (path.name, split)
        cfg.merge_from_dict({k: values[k.rsplit('.', 1)[1]] for k in keys})
        with DefaultScope.overwrite_default_scope('mmaction'):
            dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
        parts = getattr(dataset, 'datasets', [dataset])  # retrieval: 2 sets
        assert len(dataset) == 3 * len(parts)
        for part in parts:
            assert part.ann_file == 'list.txt'
            assert part.data_prefix['video'] == 'videos'
            assert part.get_data_info(2)['filename'] == 'videos/c.mp4'
        if split == 'train':
            assert dataset.skip_bad_videos == dict(max_attempts=7, seed=3)
            cfg.merge_from_dict({'train_dataloader.dataset.skip_bad_videos':
                                 None})
            with DefaultScope.overwrite_default_scope('mmaction'):
                plain = DATASETS.build(cfg.train_dataloader.dataset)
            assert plain.skip_bad_videos is None and len(plain) == 3
