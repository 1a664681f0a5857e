# CMD finetuning recipe: batch 8, 120 epochs, 10-epoch warm-up then cosine.
# lr and weight decay per dataset (UCF101: 1e-4 x B, 3e-3; HMDB51:
# 2e-4 x B, 2e-3) are set by the dataset configs.
base_batch_size = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-4 * base_batch_size, momentum=0.9,
                   nesterov=True, weight_decay=3e-3),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=110, eta_min=0, by_epoch=True,
         begin=10, end=120, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
