# MLFO on the synthetic scene-bias benchmark (labels unused): the demo's clip
# encoder with three levels (stages 2, 3, 4: 32 x 4 x 8 x 8, 64 x 2 x 4 x 4,
# 128 x 1 x 2 x 2 for 8x64x64), instance, timestamp, motion-contrast,
# prototype and (from epoch 4) graph losses. Same backbone, data, optimiser,
# batch and budget as rgbcontrast_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py;
# only the algorithm and its views differ.
#
# Views scaled to the demo (reference: 2 x 16 frames at rate U[1, 3]): a
# window of 2 x 8 frames at rate U[1, 2] (span at most 31 of the videos' 48
# frames), split into clip 1, clip 2 and the 8-frame global clip at twice
# the rate. Stage 4 has one time step here, so the high level has no
# timestamp loss (the reference's high level has 2 steps).
_base_ = ['_base_/models.py',
          '_base_/pretrain_runtime.py']

clip_len = 8
max_rate = 2.0
crop = 64
model = dict(
    type='MLFO',
    backbone=dict(_base_.clip_backbone, out_indices=(1, 2, 3)),
    neck=dict(type='MLFOTemporalNeck', time_steps=(4, 2, 1),
              excite_levels=(0, 1), reduction=16),
    clip_shape={{_base_.clip_shape}},
    out_channels=128,
    # scaled to this data: K = 32 prototypes for 1,200 training videos of
    # 10 classes (UCF101 recipe: 200 for about 9,500 of 101), a queue of 4
    # batches (as 1024 rows are 4 batches of 256 in the reference)
    num_prototypes=32,
    queue_length=64,
    level_weights=(0.3, 0.5, 1.0),
    instance_loss=dict(type='MLFOInstanceLoss', temperature=0.07),
    timestamp_loss=dict(type='MLFOTimestampLoss', temperature=0.07),
    motion_loss=dict(type='MLFOMotionContrastLoss', temperature=0.07),
    proto_loss=dict(type='MLFOSwAVLoss', temperature=0.1, epsilon=0.05,
                    iterations=3, loss_weight=0.5),
    graph_loss=dict(type='MLFOGraphLoss', temperature=0.07),
    graph_temperature=0.07,
    graph_threshold=0.05,
    data_preprocessor={{_base_.data_preprocessor}})

clip_pipeline = [
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
    dict(type='MLFOViews', clip_len=clip_len, max_rate=max_rate,
         keys=('imgs', ), transforms=clip_pipeline),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# 20 epochs: Sinkhorn over the queue from epoch 2, graph from epoch 4 (the
# Kinetics-400 recipe's 10 / 20 of 100 epochs, scaled), prototypes frozen
# in epoch 0.
custom_hooks = [
    dict(type='BadVideoMonitorHook', max_bad_ratio=0.05),
    dict(type='MLFOScheduleHook', graph_start_epoch=4, queue_start_epoch=2,
         freeze_prototype_epochs=1),
]
# graph heads idle before the graph epoch, prototypes frozen in epoch 0
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
