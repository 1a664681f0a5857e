# CMD pretraining of c3d on ucf101 (8 GPUs x 8 clips = batch 64).
_base_ = [
    '../_base_/models/cmd_c3d.py',
    '../_base_/datasets/cmd_pretrain_pipeline.py',
    '../_base_/schedules/cmd_sgd_120e.py', '../_base_/default_runtime.py'
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
    dataset=dict(
        type='SkipBadVideos',
        dataset=dict(
            type='VideoDataset',
            ann_file=ann_file_train,
            data_prefix=dict(video=data_root),
            pipeline={{_base_.train_pipeline}})))

# lr = 5e-4 x total batch; --auto-scale-lr rescales for other GPU counts.
base_batch_size = 64
optim_wrapper = dict(optimizer=dict(lr=5e-4 * base_batch_size))
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)

custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
sync_bn = 'torch'  # dropped automatically when no GPU is present
