# Recognizer3D with MLFO's R3D-18 (Hara, 7x7x7 stem, no temporal max-pool;
# the layer4 map, 512 x 2 x 4 x 4), for the MLFO finetune, linear and
# retrieval configs (ImageNet mean/std: rgb_preprocessor.py). The finetune
# and linear configs fill init_cfg.checkpoint from their `pretrained`
# setting (--cfg-options pretrained=PATH.pth).
_base_ = ['rgb_preprocessor.py']

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='R3DResNet', depth=18, temporal_pool=False, out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    cls_head=dict(type='I3DHead', in_channels=512, num_classes=101,
                  spatial_type='avg', dropout_ratio=0.3, init_std=0.01,
                  average_clips='prob'))
