# Recognizer3D with the CMD r2plus1d-26 backbone, for finetuning and linear probes
# (ImageNet mean/std: rgb_preprocessor.py). The finetune and linear configs
# fill init_cfg.checkpoint from their `pretrained` setting
# (--cfg-options pretrained=PATH.pth).
_base_ = ['rgb_preprocessor.py']

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='CMDResNet2Plus1d', depth=26, out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    cls_head=dict(type='I3DHead', in_channels=2048, num_classes=101,
                  spatial_type='avg', dropout_ratio=0.3, init_std=0.01,
                  average_clips='prob'))
