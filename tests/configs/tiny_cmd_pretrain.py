# The real R(2+1)D-26 UCF101 pretraining config, shrunk to run on the tiny
# generated videos in seconds (run from a folder holding data/tiny).
_base_ = ['../../configs/cmd/cmd_r2plus1d-26_8xb8-16x4x1-120e_ucf101-rgb.py']

model = dict(
    backbone=dict(depth=10, base_channels=8),
    motion_backbone=dict(base_channels=8),
    keyframe_backbone=dict(base_channels=8),
    context_head=dict(hidden_channels=64, out_channels=32),
    motion_head=dict(embed_dims=32, num_heads=2, num_encoder_layers=1,
                     num_decoder_layers=1, feedforward_channels=32,
                     hidden_channels=64, out_channels=32),
    clip_shape=(8, 32, 32), motion_shape=(4, 32, 32), keyframe_shape=(32, 32))

train_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='CMDSampleFrames', clip_len=8, frame_interval=2, future_gap=2,
         motion_len=4, num_negatives=1, keyframe_margin=5),
    dict(type='CMDDecode'),
    dict(type='CMDRandomResizedCrop', scale=(32, 32)),
    dict(type='CMDFlip', flip_ratio=0.5),
    dict(type='KeyframeAugment', scale=(32, 32)),
    dict(type='CMDColorAugment', keys=('imgs', 'keyframe')),
    dict(type='MotionNormalize'),
    dict(type='PackCMDInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/tiny/train.txt',
                 data_prefix=dict(video='data/tiny/videos'),
                 pipeline=train_pipeline))
train_cfg = dict(max_epochs=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, by_epoch=True, begin=1, end=2,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
custom_hooks = [dict(type='BadVideoMonitorHook', min_samples=1)]
randomness = dict(seed=0)
