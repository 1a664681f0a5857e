# The real R(2+1)D-26 UCF101 finetune config, shrunk for the tiny videos.
_base_ = [
    '../../configs/finetune/'
    'finetune_r2plus1d-26_1xb8-16x4x1-120e_ucf101-split1-rgb.py'
]

model = dict(backbone=dict(depth=10, base_channels=8),
             cls_head=dict(in_channels=64, num_classes=3))
_decode = [dict(type='CompressedVideoInit')]
train_pipeline = _decode + [
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1),
    dict(type='CMDDecode'),
    dict(type='RandomResizedCrop', area_range=(0.2, 1.0)),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', ), grayscale_prob=0.0),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = _decode + [
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=3,
         test_mode=True),
    dict(type='CMDDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
data = dict(ann_file='data/tiny/train.txt',
            data_prefix=dict(video='data/tiny/videos'))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='data/tiny/val.txt', pipeline=test_pipeline,
                 data_prefix=dict(video='data/tiny/videos')))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
default_hooks = dict(logger=dict(interval=1))
custom_hooks = [dict(type='PretrainedCheckpointHook'),
                dict(type='BadVideoMonitorHook', min_samples=1)]
randomness = dict(seed=0)
