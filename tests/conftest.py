"""Fixtures shared by the whole suite."""
from __future__ import annotations

from pathlib import Path

import pytest
from suite_utils import REPO_ROOT, make_tiny_dataset


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """A working directory holding data/tiny (6 videos, 3 classes)."""
    make_tiny_dataset(tmp_path)
    return tmp_path


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


#: calls in a test's source that start another Python process.
_SUBPROCESS_CALLS = ('subprocess.run(', 'subprocess.Popen(',
                     'subprocess.check_output(', 'suite_utils.run_tool(')


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test that starts another process ``slow``.

    Tests that launch tools as users do (``run_tool`` of suite_utils, a
    fresh interpreter, ``torchrun``) dominate the suite's time; ``-m 'not
    slow'`` leaves the in-process tests. Modules may also set
    ``pytestmark = pytest.mark.slow`` themselves.
    """
    import inspect

    from suite_utils import run_tool
    for item in items:
        function = getattr(item, 'function', None)
        if function is None or item.get_closest_marker('slow'):
            continue
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        module_run_tool = getattr(item.module, 'run_tool', None) is run_tool
        if any(call in source for call in _SUBPROCESS_CALLS) or (
                module_run_tool and 'run_tool(' in source):
            item.add_marker(pytest.mark.slow)
