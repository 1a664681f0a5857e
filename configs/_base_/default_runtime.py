# Runtime shared by every mmcmd config: mmaction2's defaults plus the plugin.
_base_ = ['mmaction::_base_/default_runtime.py']

custom_imports = dict(imports=['mmcmd'], allow_failed_imports=False)
default_scope = 'mmaction'
default_hooks = dict(
    # the step's losses reach the host once per logging interval, not with
    # a device synchronisation per value and iteration (docs/performance.md)
    runtime_info=dict(type='DeferredRuntimeInfoHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
# the training loader's worker processes run 10 steps lower (POSIX niceness)
# than the training process, which is the critical path of each iteration;
# 0 turns this off (mmcmd.engine.runner_config.prioritise_training_process,
# docs/performance.md)
env_cfg = dict(loader_worker_nice=10)
