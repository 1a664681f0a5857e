"""Evaluation runs refuse a checkpoint that does not fit the model."""
from __future__ import annotations

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmcmd.utils.checkpoint import check_model_checkpoint, format_load_summary


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stop a test or validation run whose checkpoint does not fit.

    mmengine's Runner loads ``load_from`` non-strictly: another model's
    checkpoint (another backbone on a retrieval config, a pretraining
    checkpoint on a finetune config) leaves the model with random weights,
    lists every key as missing and still reports metrics. After the
    checkpoint is read and before it loads, this hook applies
    :func:`mmcmd.utils.checkpoint.check_model_checkpoint` (the policy of
    ``init_embedder`` and of backbone ``Pretrained`` loads: every tensor of
    the model with its shape) and logs ``loaded N of M tensors of FILE into
    <model> (K ignored: ...)``. Training runs (``--resume``, ``load_from``
    of tools/train.py) are not checked. ``build_runner`` of
    :mod:`mmcmd.engine.runner_config` registers it for tools/test.py and
    tools/train.py.
    """

    priority = 'LOWEST'  # after hooks that rewrite the checkpoint (EMA)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return  # resuming or starting a training run
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        path = str(getattr(runner, '_load_from', None) or 'the checkpoint')
        summary = check_model_checkpoint(model, checkpoint, path)
        runner.logger.info(format_load_summary(summary, path,
                                               type(model).__name__))
