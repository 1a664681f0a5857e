# DSM (MoCo-style InfoNCE, momentum encoder, key queue) pretraining of
# Inception-v1 I3D (1024 x 2 x 7 x 7 at 16 x 224) on UCF101 split 1 train.
# Recipe of the released code: scripts/hmdb51/pt_and_ft.sh,
# 100 epochs, batch 3;
# SGD lr 0.003, momentum 0.9, weight decay 1e-4, lr x0.1 at epochs
# 120/160/200; 16 frames at stride 4, 224 x 224.
# Deviations from the released code: configs/dsm/README.md.
#
# Views (paper, "positive: scene broken, motion kept; negative: scene kept,
# motion broken"): anchor; positive = the anchor's frames with the Spatial
# Local Disturbance; negative = the anchor's frames with the Temporal Local
# Disturbance. The released code's views instead: DSMSampleFrames(
# negative='intra_video', min_gap=2), no TemporalLocalDisturbance,
# and the SpatialLocalDisturbance (seed=0 for one warp for all clips) on
# the anchor: anchor_transforms=[...], positive_transforms=[].
_base_ = [
    '../_base_/datasets/cmd_pretrain_ucf101.py',
    '../_base_/default_runtime.py',
]

clip_len = 16
frame_interval = 4
crop = 224
model = dict(
    type='DSM',
    backbone=dict(type='InceptionI3D'),
    clip_shape=(clip_len, crop, crop),
    out_channels=128,
    queue_size=3569,  # every released script (HMDB51 split-1 train - 1)
    temperature=0.07,
    momentum=0.999,
    data_preprocessor=dict(type='CMDDataPreprocessor'))

# every view draws its own: rotation U(-10, 10) degrees, short side to
# 256, random 224 crop, colour jitter (0.5, 0.5, 0.25, 0.5); no flip
view_transforms = [
    dict(type='RandomRotation', max_angle=10.0),
    dict(type='CMDResize', scale=256),
    dict(type='RandomCrop', size=crop),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.5, 0.5, 0.25, 0.5), jitter_prob=1.0, grayscale_prob=0.0,
         blur_prob=0.0),
]
train_pipeline = [
    dict(type='CompressedVideoInit', min_frames=1),
    dict(type='DSMSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, negative='same'),
    dict(type='CMDDecode'),
    dict(type='DSMViews', transforms=view_transforms,
         positive_transforms=[dict(type='SpatialLocalDisturbance')],
         negative_transforms=[dict(type='TemporalLocalDisturbance')],
         pack=dict(type='PackCMDInputs')),
]
batch_size = 3  # per GPU; 1 GPU(s), total 3
train_dataloader = dict(
    batch_size=batch_size,
    drop_last=True,  # the released code skips incomplete batches
    dataset=dict(pipeline=train_pipeline))

max_epochs = 100
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1000)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.003, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[120, 160, 200],
         gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=3)
custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)]
# a checkpoint every 5 epochs, only the newest kept (with the optimizer
# state, the momentum encoder and the queue that --resume needs)
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1,
                                     save_last=True))
