"""The published CMD variants, read from the model configs (no copy here).

Each ``configs/_base_/models/cmd_<name>.py`` of the source tree is one
variant: ``cmd_model_cfg('r2plus1d-26')`` is the ``model`` dict of
``cmd_r2plus1d-26.py`` and ``CLIP_BACKBONES['r2plus1d-26']`` its
``backbone``. Needs the ``configs/`` folder next to the package, as in a
source checkout installed with ``pip install -e``.
"""
from __future__ import annotations

import os
from typing import Iterator, List, Mapping

CONFIG_PREFIX = 'cmd_'
CONFIG_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'configs', '_base_', 'models')


def model_config_dir() -> str:
    """The folder of the CMD model configs; a clear error without it."""
    if not os.path.isdir(CONFIG_DIR):
        raise FileNotFoundError(
            f'the CMD model configs are not at {CONFIG_DIR}: the presets '
            'read configs/_base_/models/cmd_*.py of the mmcmd source tree; '
            'install mmcmd from its checkout with `pip install -e .`.')
    return CONFIG_DIR


def variant_names() -> List[str]:
    """Names of the published variants ('c3d', 'r2plus1d-26', 'r3d-26')."""
    return sorted(name[len(CONFIG_PREFIX):-len('.py')]
                  for name in os.listdir(model_config_dir())
                  if name.startswith(CONFIG_PREFIX) and name.endswith('.py'))


def cmd_model_cfg(backbone: str = 'r2plus1d-26') -> dict:
    """The CMD pretraining model dict of ``configs/_base_/models/
    cmd_<backbone>.py`` (16x112x112 clips, 8x112x112 motion windows)."""
    from mmengine.config import Config
    names = variant_names()
    if backbone not in names:
        raise KeyError(f'unknown CMD clip backbone {backbone!r}; choose one '
                       f'of {names} (configs/_base_/models/cmd_*.py).')
    path = os.path.join(model_config_dir(), f'{CONFIG_PREFIX}{backbone}.py')
    return Config.fromfile(path).to_dict()['model']


class _ClipBackbones(Mapping):
    """Variant name -> clip backbone cfg, read from the config on access."""

    def __getitem__(self, name: str) -> dict:
        return cmd_model_cfg(name)['backbone']

    def __iter__(self) -> Iterator[str]:
        return iter(variant_names())

    def __len__(self) -> int:
        return len(variant_names())


#: variant name -> clip backbone cfg of its config
CLIP_BACKBONES: Mapping[str, dict] = _ClipBackbones()
