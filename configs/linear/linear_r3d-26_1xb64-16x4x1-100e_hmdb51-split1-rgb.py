# Linear probe of the CMD-pretrained r3d-26 on HMDB51 split 1: frozen
# backbone (BatchNorm in eval, no gradient), a linear classifier on its
# pooled features. Load pretraining with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH.pth
_base_ = [
    '../_base_/models/recognizer_r3d-26.py', '../_base_/linear_hmdb51.py'
]

model = dict(
    backbone=dict(_delete_=True, type='FrozenBackbone',
                  backbone={{_base_.model.backbone}},
                  init_cfg=dict(type='Pretrained', checkpoint=None,
                                prefix='backbone.')),
    cls_head=dict(num_classes=51, dropout_ratio=0.0))
