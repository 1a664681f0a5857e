# CMD pretraining on UCF101 split 1 train (labels unused): data, recipe and
# runtime; a config adds the network (_base_/models/cmd_*.py).
_base_ = [
    'datasets/cmd_pretrain_pipeline.py', 'schedules/cmd_sgd_120e.py',
    'default_runtime.py'
]

data_root = 'data/ucf101/videos'
ann_file_train = 'data/ucf101/ucf101_train_split_1_videos.txt'
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    # every step needs at least 2 clips per GPU (BatchNorm in the heads)
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # a video that fails to load is replaced by a seeded random other one
    # and counted by BadVideoMonitorHook (docs/robustness.md)
    dataset=dict(
        type='CMDVideoDataset',
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline={{_base_.train_pipeline}},
        skip_bad_videos=dict(max_attempts=20, seed=0)))

# lr = 5e-4 x total batch (8 GPUs x 8); --auto-scale-lr rescales it.
base_batch_size = 64
optim_wrapper = dict(optimizer=dict(lr=5e-4 * base_batch_size))
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)

custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
sync_bn = 'torch'  # dropped automatically when no GPU is present
