# DSM's encoder Inception-v1 I3D, InceptionI3D (1024 x 2 x 7 x 7 at 16 x 224) and the
# training views at 224 x 224, shared by the DSM and DSM(Triplet)
# pretraining configs of configs/dsm/. The dataset bases own the names
# train_pipeline and train_dataloader, so these are dsm_* variables that
# the configs take with {{_base_.dsm_...}}.
dsm_backbone = dict(type='InceptionI3D')
dsm_clip_shape = (16, 224, 224)
# the released UCF101 DSM script's clips (scripts/hmdb51/pt_and_ft.sh:3,
# --pt_data_length 32): the DSM UCF101 configs; DSM(Triplet) and
# Kinetics-400 stay at 16 (scripts/kinetics/pt_multi_gpus.sh)
dsm_clip_shape_32 = (32, 224, 224)
# every view draws its own: rotation U(-10, 10) degrees, short side to
# 256, random 224 crop, colour jitter (0.5, 0.5, 0.25, 0.5); no flip
dsm_view_transforms = [
    dict(type='RandomRotation', max_angle=10.0),
    dict(type='CMDResize', scale=256),
    dict(type='RandomCrop', size=224),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.5, 0.5, 0.25, 0.5), jitter_prob=1.0, grayscale_prob=0.0,
         blur_prob=0.0),
]
# Views (paper, "positive: scene broken, motion kept; negative: scene kept,
# motion broken"): anchor; positive = the anchor's frames with the Spatial
# Local Disturbance; negative = the anchor's frames with the Temporal Local
# Disturbance (the released code's views: configs/dsm/README.md).
dsm_train_pipeline = [
    dict(type='CompressedVideoInit', min_frames=1),
    dict(type='DSMSampleFrames', clip_len=16, frame_interval=4,
         negative='same'),
    dict(type='CMDDecode'),
    dict(type='DSMViews', transforms=dsm_view_transforms,
         positive_transforms=[dict(type='SpatialLocalDisturbance')],
         negative_transforms=[dict(type='TemporalLocalDisturbance')],
         pack=dict(type='PackCMDInputs')),
]
# the same views from 32-frame clips at stride 4 (125-frame span)
dsm_train_pipeline_32 = [
    dict(type='CompressedVideoInit', min_frames=1),
    dict(type='DSMSampleFrames', clip_len=32, frame_interval=4,
         negative='same'),
    dict(type='CMDDecode'),
    dict(type='DSMViews', transforms=dsm_view_transforms,
         positive_transforms=[dict(type='SpatialLocalDisturbance')],
         negative_transforms=[dict(type='TemporalLocalDisturbance')],
         pack=dict(type='PackCMDInputs')),
]
