"""The import graph of the library has no cycles and the presets read no
file (``tests/import_graph.py``, in a fresh interpreter)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from suite_utils import REPO_ROOT


@pytest.fixture(scope='module')
def graph() -> dict:
    """What ``tests/import_graph.py`` prints, run in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop('MMCMD_NO_COMPAT', None)
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tests' / 'import_graph.py')],
        capture_output=True, text=True, env=env, timeout=300,
        cwd=str(REPO_ROOT))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_every_module_imports_in_a_fresh_interpreter(graph):
    assert len(graph['modules']) > 50
    assert graph['failed'] == {}


def test_no_import_cycles(graph):
    """No module imports a module that imports it back, however long the
    way round (strongly connected components of one module each)."""
    assert graph['cycles'] == []
    for name, targets in graph['edges'].items():
        for target in targets:
            assert name not in graph['edges'][target], (name, target)


def test_subpackages_never_import_the_top_level_package(graph):
    """Registration is one-way: ``mmcmd`` imports the subpackages (through
    mmcmd.utils.setup_env), no module imports ``mmcmd`` itself back."""
    importers = sorted(name for name, targets in graph['edges'].items()
                       if 'mmcmd' in targets)
    assert importers == []
    assert 'mmcmd.utils.setup_env' in graph['edges']['mmcmd']
    assert graph['edges']['mmcmd._openmmlab'] == ['mmcmd.compat']


def test_presets_open_no_file(graph):
    assert graph['preset_file_opens'] == []
