# Recognizer3D with DSM's Inception-v1 I3D backbone (1024 channels), for
# the DSM finetune configs: the released finetuning's dropout 0.5 before
# the classifier (mmaction2's I3DHead instead of the released pooled
# bias-free conv head, configs/dsm/README.md). ImageNet mean/std:
# rgb_preprocessor.py. The finetune configs fill init_cfg.checkpoint from
# their `pretrained` setting (--cfg-options pretrained=PATH.pth).
_base_ = ['rgb_preprocessor.py']

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='InceptionI3D',
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    cls_head=dict(type='I3DHead', in_channels=1024, num_classes=101,
                  spatial_type='avg', dropout_ratio=0.5, init_std=0.01,
                  average_clips='prob'))
