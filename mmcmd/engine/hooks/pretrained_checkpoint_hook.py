"""Finetuning starts from a named pretraining checkpoint, or says why not."""
from __future__ import annotations

import os.path as osp
import re
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, find_latest_checkpoint


def checkpoint_hint(pretrain_config: Optional[str]) -> str:
    """Where ``pretrain_config`` writes its last checkpoint (for messages).

    ``configs/cmd/cmd_x_8xb8-16x4x1-120e_ucf101-rgb.py`` gives
    ``work_dirs/cmd_x_8xb8-16x4x1-120e_ucf101-rgb/epoch_120.pth``; without
    a config, ``work_dirs/<pretraining config>/epoch_120.pth``.
    """
    if not pretrain_config:
        return 'work_dirs/<pretraining config>/epoch_120.pth'
    name = osp.splitext(osp.basename(pretrain_config))[0]
    epochs = re.search(r'[-_](\d+)e_', name)
    last = f'epoch_{epochs.group(1)}' if epochs else 'epoch_N'
    return f'work_dirs/{name}/{last}.pth'


def configured_checkpoint(init_cfg) -> Optional[str]:
    """The checkpoint of the ``Pretrained`` entry of an init_cfg, if set."""
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg or [])
    for cfg in cfgs:
        if cfg.get('type') == 'Pretrained' and cfg.get('checkpoint'):
            return str(cfg['checkpoint'])
    return None


def set_checkpoint(init_cfg, checkpoint: str, prefix: str):
    """``init_cfg`` whose ``Pretrained`` entry points at ``checkpoint``."""
    cfgs = ([init_cfg] if isinstance(init_cfg, dict)
            else [c for c in (init_cfg or [])])
    cfgs = [dict(c) for c in cfgs]
    for cfg in cfgs:
        if cfg.get('type') == 'Pretrained':
            cfg['checkpoint'] = checkpoint
            break
    else:
        cfgs.append(dict(type='Pretrained', checkpoint=checkpoint,
                         prefix=prefix))
    return cfgs[0] if len(cfgs) == 1 else cfgs


@HOOKS.register_module()
class PretrainedCheckpointHook(Hook):
    """Fill the backbone from the config's ``pretrained`` or refuse to train.

    Finetuning and linear-probe configs name their pretraining source
    (``pretrain_config``) and hold two switches at the top level:
    ``pretrained = None`` (the checkpoint, set with ``--cfg-options
    pretrained=PATH``) and ``from_scratch = False``. Before the weights are
    initialised in a training run, this hook points the ``Pretrained``
    entry of ``model.<module>.init_cfg`` at ``pretrained``; the backbone
    then loads it and logs ``loaded N of M tensors of FILE into backbone
    (K ignored: ...)``. Without a checkpoint (neither ``pretrained`` nor
    ``model.<module>.init_cfg.checkpoint``, nor ``load_from`` or a
    checkpoint to resume) it stops with a one-line error naming the two
    overrides, unless ``from_scratch=True``. Testing and validation runs
    are not checked (their weights come from the tested checkpoint).

    Args:
        module: attribute of the model that the checkpoint fills.
        prefix: key prefix of that module's tensors in the checkpoint.
    """

    priority = 'VERY_HIGH'

    def __init__(self, module: str = 'backbone',
                 prefix: str = 'backbone.') -> None:
        self.module = module
        self.prefix = prefix

    def target(self, runner):
        """The module that the checkpoint fills."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for name in self.module.split('.'):
            model = getattr(model, name)
        return model

    def before_run(self, runner) -> None:
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return  # tools/test.py or a validation run
        cfg = runner.cfg
        pretrained = cfg.get('pretrained', None)
        module = self.target(runner)
        configured = configured_checkpoint(getattr(module, 'init_cfg', None))
        if pretrained and configured and str(pretrained) != configured:
            raise ValueError(
                f'two pretrained checkpoints given: pretrained={pretrained} '
                f'and model.{self.module}.init_cfg.checkpoint={configured}; '
                'set only --cfg-options pretrained=PATH.')
        if pretrained:
            module.init_cfg = set_checkpoint(module.init_cfg, str(pretrained),
                                             self.prefix)
            return
        if configured:
            return
        if cfg.get('from_scratch', False):
            runner.logger.info(
                f'from_scratch=True: model.{self.module} starts from random '
                'initialisation, no pretrained checkpoint')
            return
        if cfg.get('load_from', None) or (
                cfg.get('resume', False)
                and find_latest_checkpoint(runner.work_dir)):
            return
        raise RuntimeError(
            f'no pretrained checkpoint for model.{self.module}: set '
            f'--cfg-options pretrained='
            f'{checkpoint_hint(cfg.get("pretrain_config", None))} '
            '(the pretraining checkpoint) or --cfg-options from_scratch=True '
            'to train from random initialisation.')
