# MLFO (multi-level feature optimisation) pretraining of R3D-18 (Hara, 7x7x7
# stem, no temporal max-pool) on UCF101 split 1 train. Recipe of the
# released code (README, train.py): 300 epochs, lr x0.1 at 200, Adam
# (0.9, 0.999) lr 1e-3 weight decay 1e-5, batch 64 per GPU on 4 GPUs,
# 200 prototypes (--cluster 200), graph constraint from epoch 50 (--split),
# threshold 0.05 (--thres). Three clips per video (MLFOViews): 2 x 16
# frames at rate U[1, 3], 112 x 112.
#
# Fixed here (configs/mlfo/README.md): the released code builds 1000
# prototypes whatever --cluster says, so this recipe crashes there on a
# queue/prototype shape mismatch; num_prototypes below sizes both. Any
# number of GPUs works (the released code needs 4).
_base_ = [
    '../_base_/datasets/cmd_pretrain_ucf101.py',
    '../_base_/default_runtime.py',
]

clip_len = 16
max_rate = 3.0
crop = 112
# the released code's behaviour where mmcmd also offers another (see the
# parity table of configs/mlfo/README.md): other GPUs' features gathered
# without gradient (train.py:220-226), the global head's BatchNorm over
# clip 1, clip 2 and the global clip in one batch (model.py:99-101, 114),
# Sinkhorn over a queue-length window that holds the batch (train.py:252-254)
gather_grad = 'reference'
model = dict(
    type='MLFO',
    backbone=dict(type='R3DResNet', depth=18, temporal_pool=False,
                  out_indices=(1, 2, 3)),
    # low 128 x 8, mid 256 x 4 (reversed + motion-excited), high 512 x 2
    neck=dict(type='MLFOTemporalNeck', time_steps=(8, 4, 2),
              excite_levels=(0, 1), reduction=16),
    clip_shape=(clip_len, crop, crop),
    out_channels=128,
    num_prototypes=200,  # --cluster 200
    queue_length=1024,
    level_weights=(0.3, 0.5, 1.0),
    instance_loss=dict(type='MLFOInstanceLoss', temperature=0.07,
                       gather_grad=gather_grad),
    timestamp_loss=dict(type='MLFOTimestampLoss', temperature=0.07),
    motion_loss=dict(type='MLFOMotionContrastLoss', temperature=0.07,
                     gather_grad=gather_grad),
    proto_loss=dict(type='MLFOSwAVLoss', temperature=0.1, epsilon=0.05,
                    iterations=3, loss_weight=0.5, queue_rows='reference'),
    graph_loss=dict(type='MLFOGraphLoss', temperature=0.07,
                    gather_grad=gather_grad),
    graph_temperature=0.07,
    graph_threshold=0.05,  # --thres
    global_head_batch='joint',
    data_preprocessor=dict(type='CMDDataPreprocessor'))

# every clip draws its own: frames force-resized to 200 x 150, random
# resized crop (area 0.5-1, aspect 3/4-4/3) to 112, flip 0.5, colour jitter
# (0.5, 0.5, 0.5, 0.25) always, random grey 0.5. The released code draws
# jitter and grey per FRAME (flicker); here once per clip.
clip_pipeline = [
    dict(type='CMDResize', scale=(200, 150)),
    dict(type='CMDRandomResizedCrop', area_range=(0.5, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3), scale=(crop, crop)),
    dict(type='CMDFlip', flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.5, 0.5, 0.5, 0.25), jitter_prob=1.0, grayscale_prob=0.5,
         blur_prob=0.0),
    dict(type='PackCMDInputs'),
]
train_pipeline = [
    dict(type='CompressedVideoInit', min_frames=1),
    dict(type='MLFOViews', clip_len=clip_len, max_rate=max_rate,
         keys=('imgs', ), transforms=clip_pipeline),
]
batch_size = 64  # per GPU; 4 GPUs, 256 videos (768 clips) per step
# as released, only videos of more than 2 x 16 frames are used (the list
# is filtered when the dataset is built)
train_dataloader = dict(
    batch_size=batch_size, drop_last=True,
    dataset=dict(pipeline=train_pipeline, short_videos='drop',
                 min_frames=2 * clip_len + 1))

max_epochs = 300
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1000)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=1e-5))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[200], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=4 * batch_size)
custom_hooks = [
    dict(type='BadVideoMonitorHook', max_bad_ratio=0.05),
    # graph from --split, Sinkhorn over the queue from epoch 10 (hard-coded
    # in the released code), prototypes frozen in epoch 0
    dict(type='MLFOScheduleHook', graph_start_epoch=50, queue_start_epoch=10,
         freeze_prototype_epochs=1),
]
# graph heads idle before the graph epoch, prototypes frozen in epoch 0
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
# SyncBN as released (used by mmengine only with several processes; SyncBN
# needs GPUs: CPU processes take --cfg-options sync_bn=None)
sync_bn = 'torch'
randomness = dict(seed=0)
# a checkpoint every 5 epochs, only the newest kept (with the optimizer
# state, the prototypes and the score queue that --resume needs)
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1,
                                     save_last=True))
