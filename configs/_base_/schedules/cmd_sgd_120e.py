# CMD pretraining recipe: SGD Nesterov, lr 5e-4 per sample of the total
# batch, 5-epoch linear warm-up then cosine, 120 epochs, grad-norm clip 15.
# Weight decay 1e-3 as in the public training code (the model card says
# 5e-3; see docs/workflows.md).
base_batch_size = 64
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120, val_interval=1000)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=5e-4 * base_batch_size, momentum=0.9,
                   nesterov=True, weight_decay=1e-3),
    clip_grad=dict(max_norm=15, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=115, eta_min=0, by_epoch=True,
         begin=5, end=120, convert_to_iter_based=True),
]
# `--auto-scale-lr` keeps lr = 5e-4 x (GPUs x batch per GPU).
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
# Runs that fail on more than 5% of the loads of an epoch stop (the
# training dataset's skip_bad_videos replaces and counts bad videos).
custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)]
sync_bn = 'torch'  # dropped automatically when no GPU is present
