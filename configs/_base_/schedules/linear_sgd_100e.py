# Linear-probe recipe: only the classifier learns (the config freezes the
# backbone), batch 64, SGD lr 0.1 without weight decay, cosine over 100
# epochs; pretraining source, hooks and val/test loops of
# finetune_sgd_120e.py.
_base_ = ['finetune_sgd_120e.py']

base_batch_size = 64
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=5)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=0, by_epoch=True,
         begin=0, end=100, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
