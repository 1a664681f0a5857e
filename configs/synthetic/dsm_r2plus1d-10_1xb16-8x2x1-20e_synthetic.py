# DSM on the synthetic scene-bias benchmark: per video an anchor clip, a
# positive with the same frames and broken scene (Spatial Local
# Disturbance: local warps, the same on every frame) and a negative with
# the same frames and broken motion (Temporal Local Disturbance: frame
# insertions and swaps); MoCo-style InfoNCE [positive | queue | negative]
# at temperature 0.07 with a momentum key encoder. Same
# backbone, data, crop/flip/colour augmentation and budget as
# rgbcontrast_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py; only the algorithm
# and its views differ.
#
# Queue and momentum scaled to this data: 512 keys for 1,200 training
# videos (the released scripts keep 3569 for UCF101's ~9,500: about the
# same share), m = 0.99 for a run of ~1,500 iterations (0.999 would leave
# the key encoder ~1,000 steps behind, most of this run).
_base_ = ['_base_/models.py',
          '_base_/pretrain_runtime.py']

clip_len = 8
frame_interval = 2
crop = 64
model = dict(
    type='DSM',
    backbone={{_base_.clip_backbone}},
    neck={{_base_.clip_neck}},
    clip_shape={{_base_.clip_shape}},
    out_channels=128,
    queue_size=512,
    temperature=0.07,
    momentum=0.99,
    data_preprocessor={{_base_.data_preprocessor}})

# the augmentation every view draws anew (RGBContrast's view augmentation)
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
