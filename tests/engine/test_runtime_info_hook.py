"""DeferredRuntimeInfoHook records what mmengine's RuntimeInfoHook records,
reading the step's outputs once per logging interval."""
from __future__ import annotations

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmcmd  # noqa: F401  (registers the hook)
from mmcmd.engine.hooks.runtime_info_hook import (
    DeferredRuntimeInfoHook,
    scalars_to_host,
)


class Points(Dataset):
    """12 fixed 4-d points with a target each."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(12, 4, generator=generator)
        self.y = torch.randn(12, 1, generator=generator)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict:
        return dict(x=self.x[index], y=self.y[index])


class Regressor(BaseModel):
    """A linear model whose loss and two extra logged values depend on the
    batch, so every iteration logs different numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x, y, mode='loss'):
        error = self.linear(torch.stack(x)) - torch.stack(y)
        return dict(loss_mse=error.pow(2).mean(),
                    max_error=error.abs().max().detach())


def run(tmp_path, runtime_info: dict, max_epochs: int = 2) -> Runner:
    torch.manual_seed(0)  # the same initial weights in both runs
    runner = Runner(
        model=Regressor(),
        work_dir=str(tmp_path / runtime_info['type']),
        train_dataloader=dict(dataset=Points(), batch_size=2,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        # an interval that does not divide the 6-iteration epoch: the
        # logger logs at inner iterations 4 and the epoch end
        default_hooks=dict(runtime_info=runtime_info,
                           logger=dict(type='LoggerHook', interval=4),
                           checkpoint=None),
        randomness=dict(seed=0),
        # a message hub of its own (runners started in the same second
        # would share one by their default name)
        experiment_name=f"{runtime_info['type']}_{tmp_path.name}",
        default_scope='mmaction')
    runner.train()
    return runner


def test_history_equals_the_stock_hooks(tmp_path):
    stock = run(tmp_path, dict(type='RuntimeInfoHook'))
    stock_hub = {key: buf.data for key, buf in
                 stock.message_hub.log_scalars.items()}
    deferred = run(tmp_path, dict(type='DeferredRuntimeInfoHook'))
    hook = [h for h in deferred.hooks
            if isinstance(h, DeferredRuntimeInfoHook)][0]
    assert hook.interval == 4 and hook.pending == []
    deferred_hub = {key: buf.data for key, buf in
                    deferred.message_hub.log_scalars.items()}
    for key in ('train/loss', 'train/loss_mse', 'train/max_error'):
        values, counts = deferred_hub[key]
        assert len(values) == 12  # 2 epochs x 6 iterations
        assert values.tolist() == stock_hub[key][0].tolist()
        assert counts.tolist() == stock_hub[key][1].tolist()


def test_scalars_to_host_keeps_types_and_order():
    outputs = [dict(a=torch.tensor(1.5), b=torch.tensor(3), c='text'),
               dict(a=torch.tensor([2.25], dtype=torch.bfloat16), b=7)]
    assert scalars_to_host(outputs) == [dict(a=1.5, b=3, c='text'),
                                        dict(a=2.25, b=7)]
    assert isinstance(scalars_to_host(outputs)[0]['b'], int)
    with pytest.raises(ValueError, match="'v' has 2 elements"):
        scalars_to_host([dict(v=torch.zeros(2))])
