# CMD pretraining data: UCF101 split 1 train (labels unused). The Kinetics-400
# base (cmd_pretrain_kinetics400.py) reuses this pipeline and loader.
#
# CMD pretraining sample (reference defaults): a 16x4 RGB clip, the 8-frame
# motion window starting 3 frames after the clip, 3 hard-negative motion
# windows of the same video, and one of the I-frames inside [first clip
# frame - 5, last + 5] (keyframe_rule='reference'), all decoded in one
# pass. One random resized crop + flip shared by the clip and its future
# motion (motion rescaled, x negated on flip: fixes of the reference, see
# configs/cmd/README.md); negatives and the keyframe get their own. Videos
# shorter than the 71 frames a sample spans are dropped from the list when
# the dataset is built (short_videos='drop'), as in the reference.
clip_len = 16
frame_interval = 4
train_pipeline = [
    dict(type='CompressedVideoInit', min_frames=1, check_motion=True),
    dict(type='CMDSampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, future_gap=2, motion_len=8,
         num_negatives=3, keyframe_margin=5, keyframe_rule='reference'),
    # whole-pixel motion as the reference's coviar loader reads it (each
    # vector truncated toward zero in source pixels, a half-pel vector is
    # 0); 'exact' keeps the codec's sub-pixel values (docs/models.md)
    dict(type='CMDDecode', motion_precision='reference'),
    dict(type='CMDRandomResizedCrop', area_range=(0.2, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3), scale=(112, 112)),
    dict(type='CMDFlip', flip_ratio=0.5),
    dict(type='KeyframeAugment', area_range=(0.2, 1.0), scale=(112, 112),
         flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', 'keyframe'),
         jitter=(0.4, 0.4, 0.4, 0.1), jitter_prob=0.5, grayscale_prob=0.2,
         blur_sigma=(0.1, 2.0), blur_prob=0.5),
    dict(type='MotionNormalize', clamp=10.0, scale=10.0),
    dict(type='PackCMDInputs'),
]

data_root = 'data/ucf101/reencoded/videos'  # docs/datasets.md, re-encoding
ann_file_train = 'data/ucf101/reencoded/ucf101_train_split_1_videos.txt'
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    # every step needs at least 2 clips per GPU (BatchNorm in the heads)
    drop_last=True,
    # batches stacked in the loader workers (into shared memory) and pinned
    # for asynchronous copies: the main process does no per-sample work
    # (docs/performance.md, "The training loop"); tools/train.py turns
    # pin_memory off where there is no GPU
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # a video that fails to load is replaced by a seeded random other one
    # and counted by BadVideoMonitorHook (docs/robustness.md)
    dataset=dict(
        type='CMDVideoDataset',
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline,
        short_videos='drop',
        skip_bad_videos=dict(max_attempts=20, seed=0)))
