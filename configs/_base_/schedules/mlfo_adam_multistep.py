# MLFO's released optimisation (README, train.py): Adam (0.9, 0.999) lr 1e-3
# weight decay 1e-5, batch 64 per GPU on 4 GPUs, lr x0.1 at one milestone,
# the graph constraint from epoch --split, Sinkhorn over the queue from
# epoch 10, SyncBN. The values below are the Kinetics-400 recipe (100
# epochs, lr x0.1 at 70, --split 20); a config with another recipe sets
# max_epochs, train_cfg.max_epochs, param_scheduler and custom_hooks, and,
# beside default_runtime.py, the checkpoint hook.
max_epochs = 100
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1000)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=1e-5))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[70], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=4 * 64)  # 4 GPUs x 64
custom_hooks = [
    dict(type='BadVideoMonitorHook', max_bad_ratio=0.05),
    # graph from --split, Sinkhorn over the queue from epoch 10 (hard-coded
    # in the released code), prototypes frozen in epoch 0
    dict(type='MLFOScheduleHook', graph_start_epoch=20, queue_start_epoch=10,
         freeze_prototype_epochs=1),
]
# graph heads idle before the graph epoch, prototypes frozen in epoch 0
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
# SyncBN as released (used by mmengine only with several processes; SyncBN
# needs GPUs: CPU processes take --cfg-options sync_bn=None)
sync_bn = 'torch'
randomness = dict(seed=0)
