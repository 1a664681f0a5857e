# DSM's released finetuning optimisation: batch 4, 45 epochs, SGD lr 0.001
# (momentum 0.9, weight decay 1e-8), lr x0.3 at epochs 10/20/25/30/35/40.
# The pretrained-checkpoint switches and hooks are those of every finetune
# config (finetune_sgd_120e.py).
_base_ = ['finetune_sgd_120e.py']

base_batch_size = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=45, val_interval=5)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-8))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True,
         milestones=[10, 20, 25, 30, 35, 40], gamma=0.3),
]
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
