# DSM's released optimisation: SGD lr 0.003, momentum 0.9, weight decay
# 1e-4, lr x0.1 at epochs 120 / 160 / 200 (scripts/*/pt*.sh); the configs
# set max_epochs and, beside default_runtime.py, the checkpoint hook.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100,
                 val_interval=1000)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.003, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[120, 160, 200],
         gamma=0.1),
]
custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)]
