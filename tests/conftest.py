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
