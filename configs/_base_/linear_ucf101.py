# Linear probe on UCF101 split 1: the finetuning data with lighter
# augmentation; only the classifier learns (SGD lr 0.1, cosine, 100 epochs).
_base_ = ['finetune_ucf101.py']

train_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline={{_base_.linear_train_pipeline}}))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=5)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=0, by_epoch=True,
         begin=0, end=100, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
