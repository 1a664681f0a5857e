# Linear probe of the CMD-pretrained c3d on HMDB51 split 1: frozen
# backbone (BatchNorm in eval, no gradient), a linear classifier on its
# pooled features. Load pretraining with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH.pth
_base_ = ['../finetune/finetune_c3d_1xb8-16x4x1-120e_hmdb51-split1-rgb.py']

model = dict(
    backbone=dict(_delete_=True, type='FrozenBackbone',
                  backbone={{_base_.model.backbone}},
                  init_cfg=dict(type='Pretrained', checkpoint=None,
                                prefix='backbone.')),
    cls_head=dict(dropout_ratio=0.0))
train_dataloader = dict(
    batch_size=64,
    dataset=dict(dataset=dict(pipeline={{_base_.linear_train_pipeline}})))

# Only the classifier learns: SGD lr 0.1, cosine over 100 epochs.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=5)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=0, by_epoch=True,
         begin=0, end=100, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
