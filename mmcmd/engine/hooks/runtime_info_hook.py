"""mmengine's RuntimeInfoHook without a device synchronisation per iteration."""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import CheckpointHook, LoggerHook, RuntimeInfoHook


def scalars_to_host(outputs: List[Dict[str, object]]
                    ) -> List[Dict[str, object]]:
    """The same dicts with every one-element tensor as a Python number,
    read with one device-to-host copy per device (not one per value).

    Float tensors become floats and integer tensors ints, as
    ``tensor.item()`` gives them; other values are kept.
    """
    slots: Dict[torch.device, list] = {}
    for index, output in enumerate(outputs):
        for key, value in output.items():
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise ValueError(f'log value {key!r} has {value.numel()} '
                                     'elements; a scalar is needed')
                slots.setdefault(value.device, []).append((index, key,
                                                           value))
    result = [dict(output) for output in outputs]
    for device, entries in slots.items():
        stacked = torch.stack([value.detach().reshape(()).to(torch.float64)
                               for _, _, value in entries])
        for (index, key, value), number in zip(entries, stacked.tolist()):
            is_float = value.is_floating_point() or value.is_complex()
            result[index][key] = number if is_float else int(number)
    return result


@HOOKS.register_module()
class DeferredRuntimeInfoHook(RuntimeInfoHook):
    """:class:`mmengine.hooks.RuntimeInfoHook` that moves the step's log
    values to the host once per logging interval, not once per value and
    iteration.

    mmengine's hook calls ``tensor.item()`` on every loss and accuracy of
    every iteration, so on a GPU the host waits for each step to finish
    before it prepares the next. This one keeps each iteration's outputs on
    the device and, at the iterations where something reads them (every
    ``LoggerHook.interval``, an iteration-based checkpoint, the end of an
    epoch or of training), reads them all in one copy and records them in
    the message hub in order, value for value what the stock hook records.
    Everything else (learning rates, epochs, iterations, validation
    metrics) is the stock hook's.

    Args:
        interval: iterations between reads; None: the ``LoggerHook``'s
            interval (and every iteration where no LoggerHook is
            registered).
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.pending: List[Dict[str, object]] = []
        self._checkpoint_interval: Optional[int] = None

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.interval is None:
            loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
            self.interval = loggers[0].interval if loggers else 1
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and not hook.by_epoch:
                self._checkpoint_interval = hook.interval

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if outputs is not None:
            self.pending.append(dict(outputs))
        if self._must_flush(runner, batch_idx):
            self.flush(runner)

    def _must_flush(self, runner, batch_idx: int) -> bool:
        return (self.every_n_train_iters(runner, self.interval)
                or self.every_n_inner_iters(batch_idx, self.interval)
                or (self._checkpoint_interval is not None
                    and self.every_n_train_iters(runner,
                                                 self._checkpoint_interval))
                or self.end_of_epoch(runner.train_dataloader, batch_idx)
                or self.is_last_train_iter(runner))

    def flush(self, runner) -> None:
        """Record the pending outputs in the message hub."""
        for output in scalars_to_host(self.pending):
            for key, value in output.items():
                runner.message_hub.update_scalar(f'train/{key}', value)
        self.pending = []

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)
