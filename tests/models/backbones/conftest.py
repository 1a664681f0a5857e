"""The backbone tests run torch on one thread (see ``one_torch_thread``)."""
from __future__ import annotations

import pytest
from clip_encoder_checks import one_torch_thread

one_thread = pytest.fixture(autouse=True)(one_torch_thread)
