"""Configs whose inheritance was restructured merge to the same dict as
before: every key and value of ``Config.fromfile(path).to_dict()`` equals
the recorded ``tests/data/configs/merged_configs.json``.

A deliberate change of one of these configs' content updates the record:

    python tests/configs_tree/test_merged_configs.py --update
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / 'tests' / 'data' / 'configs' / 'merged_configs.json'
#: the configs that inherit the MLFO, R3D-18 recognizer and DSM-finetune
#: bases
CONFIGS = [
    'configs/mlfo/mlfo_r3d-18_4xb64-16x3x1-100e_kinetics400-rgb.py',
    'configs/mlfo/mlfo_r3d-18_4xb64-16x3x1-300e_ucf101-rgb.py',
    'configs/mlfo/finetune_r3d-18_1xb8-16x4x1-120e_hmdb51-split1-rgb.py',
    'configs/mlfo/finetune_r3d-18_1xb8-16x4x1-120e_ucf101-split1-rgb.py',
    'configs/mlfo/linear_r3d-18_1xb64-16x4x1-100e_hmdb51-split1-rgb.py',
    'configs/mlfo/linear_r3d-18_1xb64-16x4x1-100e_ucf101-split1-rgb.py',
    'configs/mlfo/retrieval_r3d-18_16x4x10_hmdb51-split1-rgb.py',
    'configs/mlfo/retrieval_r3d-18_16x4x10_ucf101-split1-rgb.py',
    'configs/dsm/finetune_i3d_1xb4-64x1x1-45e_hmdb51-split1-rgb.py',
    'configs/dsm/finetune_i3d_1xb4-64x1x1-45e_ucf101-split1-rgb.py',
]


def merged(rel_path: str) -> dict:
    """The merged config as plain JSON data (tuples as lists; anything
    JSON cannot hold as its ``str``)."""
    cfg = Config.fromfile(str(REPO_ROOT / rel_path),
                          import_custom_modules=False)
    return json.loads(json.dumps(cfg.to_dict(), sort_keys=True, default=str))


def record() -> dict:
    return {path: merged(path) for path in CONFIGS}


def diff(expected, actual, where='') -> list:
    """The key paths at which two JSON values differ."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f'{where}.{key}: missing')
            elif key not in expected:
                out.append(f'{where}.{key}: new key')
            else:
                out += diff(expected[key], actual[key], f'{where}.{key}')
        return out
    if (isinstance(expected, list) and isinstance(actual, list)
            and len(expected) == len(actual)):
        return [d for i, (e, a) in enumerate(zip(expected, actual))
                for d in diff(e, a, f'{where}[{i}]')]
    return [] if expected == actual else [
        f'{where}: {expected!r} -> {actual!r}']


def test_the_record_covers_the_configs():
    recorded = json.loads(FIXTURE.read_text())
    assert sorted(recorded) == sorted(CONFIGS)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: Path(p).name)
def test_merged_config_is_unchanged(path):
    expected = json.loads(FIXTURE.read_text())[path]
    differences = diff(expected, merged(path))
    assert not differences, '\n'.join(differences)


def test_diff_names_the_key_paths():
    assert diff({'a': [1, {'b': 2}]}, {'a': [1, {'b': 3}], 'c': 0}) == [
        '.a[1].b: 2 -> 3', '.c: new key']


if __name__ == '__main__':
    if sys.argv[1:] != ['--update']:
        sys.exit(__doc__)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(record(), indent=1, sort_keys=True) + '\n')
    print(f'wrote {FIXTURE.relative_to(REPO_ROOT)}')
