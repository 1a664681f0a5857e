# DSM(Triplet) on the synthetic scene-bias benchmark: the views of
# dsm_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py (anchor; positive = same
# frames, scene broken by local warps; negative = same frames, motion
# broken by frame insertions and swaps) through one encoder, triplet
# margin loss (margin 0.5, p 2) plus the term with the mirrored video's
# negative. Same backbone, data, augmentation and budget as
# rgbcontrast_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py.
_base_ = ['_base_/models.py',
          '_base_/pretrain_runtime.py']

clip_len = 8
frame_interval = 2
crop = 64
model = dict(
    type='DSMTriplet',
    backbone={{_base_.clip_backbone}},
    neck={{_base_.clip_neck}},
    clip_shape={{_base_.clip_shape}},
    out_channels=128,
    margin=0.5,
    p=2.0,
    reversed_weight=1.0,
    data_preprocessor={{_base_.data_preprocessor}})

view_transforms = [
    dict(type='CMDRandomResizedCrop', area_range=(0.2, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3), scale=(crop, crop)),
    dict(type='CMDFlip', flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.4, 0.4, 0.4, 0.1), jitter_prob=0.5, grayscale_prob=0.2,
         blur_sigma=(0.1, 2.0), blur_prob=0.5),
]
train_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='DSMSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, negative='same'),
    dict(type='CMDDecode'),
    dict(type='DSMViews', transforms=view_transforms,
         positive_transforms=[dict(type='SpatialLocalDisturbance')],
         negative_transforms=[dict(type='TemporalLocalDisturbance')],
         pack=dict(type='PackCMDInputs')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
