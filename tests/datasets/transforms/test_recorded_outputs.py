"""The views wrappers and the training samplers draw what they drew before
their merge (one wrapper, one sampling module): the same seeds give the same
indices and the same view tensors as recorded in
``tests/data/recorded_transforms.json``."""
from __future__ import annotations

import json

import pytest
from recorded_outputs import compute, load


@pytest.fixture(scope='module')
def outputs() -> tuple:
    """(recorded, now), both as JSON values."""
    return load(), json.loads(json.dumps(compute()))


@pytest.mark.parametrize('kind', ['views', 'samplers'])
def test_same_outputs_as_recorded(outputs, kind):
    recorded, now = outputs
    keys = sorted(k for k in recorded if k.startswith(kind + '/'))
    assert keys and keys == sorted(k for k in now
                                   if k.startswith(kind + '/'))
    for key in keys:
        assert now[key] == recorded[key], key
