# DSM(Triplet) (triplet margin loss, one encoder) pretraining of
# C3D+BN, CMDC3D (512 x 2 x 7 x 7 at 16 x 112) on UCF101 split 1 train.
# Recipe of the released code: scripts/hmdb51/pt_and_ft.sh,
# 100 epochs, batch 3;
# SGD lr 0.003, momentum 0.9, weight decay 1e-4, lr x0.1 at epochs
# 120/160/200; 16 frames at stride 4, 112 x 112 (the scripts use 224;
# C3D is built for 112).
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
    '../_base_/models/dsm_c3d.py',
    '../_base_/datasets/cmd_pretrain_ucf101.py',
    '../_base_/schedules/dsm_sgd_multistep.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='DSMTriplet',
    backbone={{_base_.dsm_backbone}},
    clip_shape={{_base_.dsm_clip_shape}},
    out_channels=128,
    margin=0.5,
    p=2.0,
    reversed_weight=1.0,
    data_preprocessor=dict(type='CMDDataPreprocessor'))
train_pipeline = {{_base_.dsm_train_pipeline}}
batch_size = 3  # per GPU; 1 GPU(s), total 3
train_dataloader = dict(
    batch_size=batch_size,
    drop_last=True,  # the released code skips incomplete batches
    # short videos loop (frame indices wrap), as the released loader's
    # do (src/data/dataset.py:221-224); the CMD base drops them
    dataset=dict(pipeline=train_pipeline, short_videos='loop'))
auto_scale_lr = dict(enable=False, base_batch_size=3)
# a checkpoint every 5 epochs, only the newest kept (with the optimizer
# state, the momentum encoder and the queue that --resume needs)
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1,
                                     save_last=True))
