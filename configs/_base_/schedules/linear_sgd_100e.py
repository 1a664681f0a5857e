# Linear probe: frozen backbone (BN in eval), only the classifier learns.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=0.0,
                                                      decay_mult=0.0))))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=0, by_epoch=True,
         begin=0, end=100, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
