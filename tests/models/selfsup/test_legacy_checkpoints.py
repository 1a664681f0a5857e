"""State dicts of the earlier layout of RGBContrast, DSM, DSMTriplet and MLFO
(projections as model attributes or ``head``, DSM's hand-written momentum
encoder, MLFO's prototypes and queue on the model) load into today's
models through their key maps, tensor for tensor, and give the losses the
earlier models computed.

``tests/data/selfsup_v1_state_keys.json`` was recorded with the earlier
code: per model its cfg, the name, shape and dtype of every state-dict
entry, and the losses of two training steps after loading the
deterministic tensors :func:`fake_tensor` makes from those names."""
from __future__ import annotations

import json
import zlib

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from suite_utils import REPO_ROOT

from mmcmd.utils.checkpoint import load_into, rename_keys

FIXTURE = REPO_ROOT / 'tests' / 'data' / 'selfsup_v1_state_keys.json'
RECORDED = json.loads(FIXTURE.read_text())


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fake_tensor(key, shape, dtype) -> torch.Tensor:
    """The tensor the fixture's losses were computed with, from its name."""
    g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    if not dtype.is_floating_point:
        return torch.zeros(shape, dtype=dtype)
    if key.endswith('running_var'):
        return torch.rand(shape, generator=g) + 0.5
    return torch.randn(shape, generator=g) * 0.2


def old_state(name: str) -> dict:
    return {k: fake_tensor(k, shape, getattr(torch, dtype))
            for k, (shape, dtype) in RECORDED[name]['keys'].items()}


def build(name: str):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(RECORDED[name]['cfg'])


#: old key -> new key, written out by hand for a few of each model
EXPECTED = {
    'RGBContrast': {'projection.0.weight': 'projector.0.weight',
                    'projection.4.running_var': 'projector.4.running_var'},
    'DSM': {'head.weight': 'projector.fc.weight',
            'head.bias': 'projector.fc.bias',
            'contrast.queue': 'head.loss_module.queue',
            'contrast.queue_ptr': 'head.loss_module.queue_ptr',
            'momentum_backbone.conv1_s.weight':
                'momentum_encoder.module.0.conv1_s.weight',
            'momentum_head.weight': 'momentum_encoder.module.2.fc.weight'},
    'DSMTriplet': {'head.weight': 'projector.fc.weight'},
    'MLFO': {'level_heads.1.fine.2.bias': 'level_necks.1.fine.2.bias',
             'global_head.mlp.1.running_mean':
                 'global_neck.mlp.1.running_mean',
             'prototypes.prototypes.weight': 'proto_head.prototypes.weight',
             'queue': 'proto_head.queue',
             'neck.excite.0.shift.weight': 'neck.excite.0.shift.weight'},
}


@pytest.mark.parametrize('name', sorted(RECORDED))
def test_old_state_dict_loads_tensor_for_tensor(name):
    model = build(name)
    old = old_state(name)
    result = model.load_state_dict(old, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    new = model.state_dict()
    mapped = dict(old)
    pairs = dict(rename_keys(mapped, model.legacy_key_map()))
    assert set(mapped) | ({'momentum_encoder.steps'} if name == 'DSM'
                          else set()) == set(new)
    for old_key, tensor in old.items():
        torch.testing.assert_close(new[pairs.get(old_key, old_key)], tensor,
                                   rtol=0, atol=0)
    for old_key, new_key in EXPECTED[name].items():
        assert pairs.get(old_key, old_key) == new_key
    # today's keys are left alone (a checkpoint of today's model)
    again = build(name)
    again.load_state_dict(new, strict=True)
    for key, value in again.state_dict().items():
        torch.testing.assert_close(value, new[key], rtol=0, atol=0)


@pytest.mark.parametrize('name', sorted(RECORDED))
def test_old_state_dict_gives_the_old_losses(name):
    model = build(name)
    model.load_state_dict(old_state(name))
    model.train()
    if name == 'MLFO':
        model.set_schedule(use_graph=True, use_queue=True,
                           freeze_prototypes=False)
    shape = RECORDED[name]['input_shape']
    for seed, expected in zip((1, 2), RECORDED[name]['losses']):
        clips = torch.randn(shape,
                            generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            losses = model.loss(dict(imgs=clips))
        assert set(losses) == set(expected)
        for key, value in expected.items():
            assert losses[key].item() == pytest.approx(value, rel=1e-5,
                                                       abs=1e-6), key


def test_old_dsm_momentum_encoder_is_averaged_into_not_replaced():
    """An old DSM checkpoint has no EMA step counter: the next update must
    average into the loaded momentum encoder (k = m k + (1 - m) q)."""
    model = build('DSM')
    old = old_state('DSM')
    model.load_state_dict(old)
    assert model.momentum_encoder.steps.item() == 1
    model.train()
    clips = torch.randn(RECORDED['DSM']['input_shape'])
    with torch.no_grad():
        model.loss(dict(imgs=clips))
    m = model.momentum
    torch.testing.assert_close(
        model.momentum_encoder.module[2].fc.weight,
        m * old['momentum_head.weight'] + (1 - m) * old['head.weight'])


def test_mmengine_load_checkpoint_renames_old_keys(tmp_path):
    from mmengine.runner import load_checkpoint
    model = build('MLFO')
    old = old_state('MLFO')
    torch.save({'state_dict': old}, tmp_path / 'old.pth')
    load_checkpoint(model, str(tmp_path / 'old.pth'), strict=True)
    torch.testing.assert_close(model.proto_head.queue, old['queue'])
    torch.testing.assert_close(model.level_necks[2].fine[2].weight,
                               old['level_heads.2.fine.2.weight'])


def test_load_into_renames_before_checking_shapes():
    model = build('DSMTriplet')
    summary = load_into(model, old_state('DSMTriplet'), 'old.pth')
    assert summary
    torch.testing.assert_close(model.projector.fc.weight,
                               old_state('DSMTriplet')['head.weight'])
