"""Epoch-driven switches of MLFO (graph constraint, queue, frozen
prototypes), set from ``runner.epoch`` so a resumed run gets them right."""
from __future__ import annotations

from typing import Dict

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


def mlfo_schedule(epoch: int, graph_start_epoch: int, queue_start_epoch: int,
                  freeze_prototype_epochs: int) -> Dict[str, bool]:
    """The flags of 0-based ``epoch``: ``use_graph`` (epoch >=
    graph_start_epoch), ``use_queue`` (epoch >= queue_start_epoch),
    ``freeze_prototypes`` (epoch < freeze_prototype_epochs)."""
    return dict(use_graph=epoch >= graph_start_epoch,
                use_queue=epoch >= queue_start_epoch,
                freeze_prototypes=epoch < freeze_prototype_epochs)


@HOOKS.register_module()
class MLFOScheduleHook(Hook):
    """Switch MLFO's parts on and off at epoch boundaries.

    Before every training epoch (0-based ``runner.epoch``, also the first
    epoch of a resumed run) it calls ``model.set_schedule(...)`` with the
    flags of :func:`mlfo_schedule` and records them in the message hub's
    info (``mlfo_schedule``). The reference's values: graph constraint from
    ``--split`` (20 on Kinetics-400, 50 on UCF101), queue from epoch 10,
    prototypes frozen in epoch 0.

    Args:
        graph_start_epoch: first epoch with the graph loss (``split``).
        queue_start_epoch: first epoch whose Sinkhorn runs over the queue.
        freeze_prototype_epochs: epochs without prototype gradient.
    """

    priority = 'NORMAL'

    def __init__(self, graph_start_epoch: int = 20,
                 queue_start_epoch: int = 10,
                 freeze_prototype_epochs: int = 1) -> None:
        self.graph_start_epoch = int(graph_start_epoch)
        self.queue_start_epoch = int(queue_start_epoch)
        self.freeze_prototype_epochs = int(freeze_prototype_epochs)

    def before_train_epoch(self, runner) -> None:
        """Set the flags of the coming epoch on the model."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'set_schedule'):
            raise TypeError(f'MLFOScheduleHook: the model '
                            f'{type(model).__name__} has no set_schedule(); '
                            "use it with type='MLFO'.")
        flags = mlfo_schedule(runner.epoch, self.graph_start_epoch,
                              self.queue_start_epoch,
                              self.freeze_prototype_epochs)
        model.set_schedule(**flags)
        runner.message_hub.update_info('mlfo_schedule', dict(
            flags, epoch=runner.epoch))
