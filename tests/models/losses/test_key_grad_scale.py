"""key_grad_scale of GatheredInfoNCE: 2 gloo processes with DDP against one
process on the whole batch. 'exact' reproduces the 1-process gradients;
'reference' gives the key encoder 1/world size of them, the query encoder
the same."""
from __future__ import annotations

import pytest
import torch
import torch.multiprocessing as mp
from key_grad_scale_worker import (
    EXTRA_KEYS,
    PER_RANK,
    TAU,
    WORLD,
    TwoEncoders,
    inputs,
    worker,
)
from mmaction.registry import MODELS

from mmcmd.models.losses import GatheredInfoNCE


def one_process_gradients():
    """Gradients of the mean InfoNCE over all ranks' queries, one process,
    written out: the positive of query i of rank r is key i of rank r."""
    model = TwoEncoders()
    parts = [inputs(r) for r in range(WORLD)]
    q, k = model(torch.cat([p[0] for p in parts]),
                 torch.cat([p[1] for p in parts]))
    logits = q @ k.t() / TAU
    positives = torch.cat([torch.arange(PER_RANK) + r * (PER_RANK +
                                                         EXTRA_KEYS)
                           for r in range(WORLD)])
    rows = torch.arange(len(q))
    loss = (torch.logsumexp(logits, dim=1) - logits[rows, positives]).mean()
    loss.backward()
    return loss.detach(), {name: p.grad.clone()
                           for name, p in model.named_parameters()}


@pytest.fixture(scope='module')
def two_process_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('key_grad_scale')
    mp.spawn(worker, args=(str(tmp / 'init'), str(tmp)), nprocs=WORLD,
             join=True)
    return [torch.load(tmp / f'{r}.pt', weights_only=True)
            for r in range(WORLD)]


def test_exact_mode_equals_one_process(two_process_results):
    loss, grads = one_process_gradients()
    mean = sum(r['exact_loss'] for r in two_process_results) / WORLD
    assert mean.item() == pytest.approx(loss.item(), rel=1e-6)
    for rank in two_process_results:  # DDP: every rank holds the average
        for name, grad in grads.items():
            torch.testing.assert_close(rank['exact'][name], grad)


def test_reference_mode_scales_key_side_by_one_over_world(
        two_process_results):
    loss, grads = one_process_gradients()
    mean = sum(r['reference_loss'] for r in two_process_results) / WORLD
    assert mean.item() == pytest.approx(loss.item(), rel=1e-6)
    for rank in two_process_results:
        for name, grad in grads.items():
            factor = 1.0 / WORLD if name.startswith('key.') else 1.0
            torch.testing.assert_close(rank['reference'][name],
                                       grad * factor)
    # the two modes differ on the key side only
    ref, exact = two_process_results[0]['reference'], \
        two_process_results[0]['exact']
    assert not torch.allclose(ref['key.weight'], exact['key.weight'])
    assert torch.equal(ref['query.weight'], exact['query.weight'])


def test_one_process_modes_agree_and_bad_value_fails():
    q = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    k = torch.nn.functional.normalize(torch.randn(5, 4), dim=1)
    grads = []
    for mode in ('exact', 'reference'):
        keys = k.clone().requires_grad_(True)
        loss = GatheredInfoNCE(TAU, key_grad_scale=mode)(q, keys)[0]
        loss.backward()
        grads.append(keys.grad)
        assert GatheredInfoNCE(key_grad_scale=mode).key_gradient_factor() \
            == 1.0
    torch.testing.assert_close(grads[0], grads[1])
    with pytest.raises(ValueError, match='key_grad_scale'):
        GatheredInfoNCE(key_grad_scale='half')


def test_built_from_config():
    loss = MODELS.build(dict(type='GatheredInfoNCE', temperature=0.1,
                             key_grad_scale='reference'))
    assert loss.key_grad_scale == 'reference'
    assert "key_grad_scale='reference'" in repr(loss)
    assert GatheredInfoNCE().key_grad_scale == 'exact'
