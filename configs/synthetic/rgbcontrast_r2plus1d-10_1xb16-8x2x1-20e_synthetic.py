# RGB-only contrastive baseline on the synthetic scene-bias benchmark: two
# clips of each video (own time, crop, flip, colour) through CMD's clip
# encoder, InfoNCE between them. Same backbone, data, augmentation and
# budget as cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py.
_base_ = ['_base_/models.py',
          '_base_/pretrain_runtime.py']

clip_len = 8
frame_interval = 2
crop = 64
model = dict(
    type='RGBContrast',
    backbone={{_base_.clip_backbone}},
    neck={{_base_.clip_neck}},
    clip_shape={{_base_.clip_shape}},
    hidden_channels=512,
    out_channels=128,
    loss=dict(type='GatheredInfoNCE', temperature=0.1, loss_weight=1.0),
    symmetric=True,
    data_preprocessor={{_base_.data_preprocessor}})

view_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CMDDecode', close=False),
    dict(type='CMDRandomResizedCrop', area_range=(0.2, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3), scale=(crop, crop)),
    dict(type='CMDFlip', flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.4, 0.4, 0.4, 0.1), jitter_prob=0.5, grayscale_prob=0.2,
         blur_sigma=(0.1, 2.0), blur_prob=0.5),
    dict(type='PackCMDInputs'),
]
train_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='MultiView', num_views=2, keys=('imgs', ),
         transforms=view_pipeline),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
