"""MLFOScheduleHook in a real (in-process) Runner: flags per epoch, frozen
prototypes in epoch 0, graph loss from its epoch, exact resume."""
from __future__ import annotations

import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from mmcmd.engine.hooks import MLFOScheduleHook
from mmcmd.engine.hooks.mlfo_schedule_hook import mlfo_schedule

MODEL = dict(type='MLFO',
             backbone=dict(type='CMDResNet2Plus1d', depth=10,
                           base_channels=4, out_indices=(1, 2, 3)),
             clip_shape=(16, 16, 16), out_channels=8, num_prototypes=3,
             queue_length=4)


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_schedule_flags():
    flags = [mlfo_schedule(e, graph_start_epoch=3, queue_start_epoch=2,
                           freeze_prototype_epochs=1) for e in range(4)]
    assert [f['use_graph'] for f in flags] == [False, False, False, True]
    assert [f['use_queue'] for f in flags] == [False, False, True, True]
    assert [f['freeze_prototypes'] for f in flags] == [
        True, False, False, False]


class Recorder(Hook):
    """Per epoch: the model's flags, the loss keys, whether a step moved
    the (normalised) prototypes."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.epochs = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model
        self.before = torch.nn.functional.normalize(
            model.proto_head.prototypes.weight.detach(), dim=1).clone()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model
        moved = not torch.equal(self.before,
                                model.proto_head.prototypes.weight)
        record = self.epochs.setdefault(runner.epoch, dict(
            keys=set(), moved=False, flags=(model.use_graph, model.use_queue,
                                            model.freeze_prototypes)))
        record['keys'] |= set(outputs)
        record['moved'] |= moved


def loader() -> DataLoader:
    g = torch.Generator().manual_seed(3)
    items = [dict(inputs=dict(imgs=torch.randint(
        0, 256, (3, 3, 16, 16, 16), dtype=torch.uint8, generator=g)),
        data_samples=ActionDataSample()) for _ in range(4)]
    return DataLoader(items, batch_size=2, shuffle=False,
                      collate_fn=pseudo_collate)


def runner(work_dir, max_epochs: int, hooks, name: str,
           resume: bool = False) -> Runner:
    return Runner(
        experiment_name=f'{name}_{work_dir.parent.name}',
        model=dict(MODEL), work_dir=str(work_dir), train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05,
                                          momentum=0.9)),
        custom_hooks=hooks, default_scope='mmaction',
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0), resume=resume)


def test_hook_drives_the_model_and_a_resumed_run_continues_exactly(
        tmp_path):
    def schedule():
        return MLFOScheduleHook(graph_start_epoch=1, queue_start_epoch=2,
                                freeze_prototype_epochs=1)
    recorder = Recorder()
    full = runner(tmp_path / 'full', 3, [schedule(), recorder], 'full')
    full.train()
    epochs = recorder.epochs
    assert [epochs[e]['flags'] for e in range(3)] == [
        (False, False, True), (True, False, False), (True, True, False)]
    graph_keys = {'loss_graph_low', 'loss_graph_mid', 'loss_graph_high'}
    assert not graph_keys & epochs[0]['keys']
    assert graph_keys <= epochs[1]['keys'] and graph_keys <= epochs[2][
        'keys']
    assert not epochs[0]['moved'] and epochs[1]['moved']  # frozen in 0
    assert full.message_hub.get_info('mlfo_schedule') == dict(
        use_graph=True, use_queue=True, freeze_prototypes=False, epoch=2)

    # 2 epochs, then resumed to 3: the same weights, queue and prototypes
    part = tmp_path / 'part'
    runner(part, 2, [schedule()], 'part').train()
    resumed = runner(part, 3, [schedule()], 'resumed', resume=True)
    resumed.train()
    expected = full.model.state_dict()
    got = resumed.model.state_dict()
    assert set(got) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=0, atol=0,
                                   msg=key)

