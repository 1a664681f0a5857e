# HMDB51 split 1, RGB, for finetuning and linear probes: train (finetuning
# augmentation; a linear-probe config swaps in linear_train_pipeline and
# batch 64), val (1 clip, centre crop), test (10 clips x centre crop,
# scores averaged) and top-k accuracy. Splits 2 and 3: the -split2- /
# -split3- configs set ann_file of the three loaders.
_base_ = ['rgb_pipelines.py', 'embedding_pipeline.py']

data_root = 'data/hmdb51/videos'
ann_file_train = 'data/hmdb51/hmdb51_train_split_1_videos.txt'
ann_file_test = 'data/hmdb51/hmdb51_val_split_1_videos.txt'
train_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CMDVideoDataset', ann_file=ann_file_train,
                 data_prefix=dict(video=data_root),
                 pipeline={{_base_.finetune_train_pipeline}},
                 skip_bad_videos=dict(max_attempts=20, seed=0)))
val_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=ann_file_test,
                 data_prefix=dict(video=data_root),
                 pipeline={{_base_.val_pipeline}}, test_mode=True))
test_dataloader = dict(
    batch_size=1, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=ann_file_test,
                 data_prefix=dict(video=data_root),
                 pipeline={{_base_.test_pipeline}}, test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
