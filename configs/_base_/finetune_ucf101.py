# Finetuning on UCF101 split 1 with the reference recipe (dropout 0.3 in the
# model bases, batch 8, 120 epochs, 10-epoch warm-up, lr 1e-4 x B, wd 3e-3;
# test: 10 clips x centre crop, scores averaged). A config adds the network
# (_base_/models/recognizer_*.py), sets num_classes and names its
# pretraining source (pretrain_config).

_base_ = [
    'datasets/rgb_pipelines.py', 'schedules/finetune_sgd_120e.py',
    'default_runtime.py'
]

# The backbone starts from a pretraining checkpoint: set it with
#   --cfg-options pretrained=work_dirs/<pretraining config>/epoch_120.pth
# or train from random initialisation with --cfg-options from_scratch=True;
# without either, training stops before the first step
# (PretrainedCheckpointHook).
pretrain_config = None
pretrained = None
from_scratch = False

data_root = 'data/ucf101/videos'
ann_file_train = 'data/ucf101/ucf101_train_split_1_videos.txt'
ann_file_test = 'data/ucf101/ucf101_val_split_1_videos.txt'
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

optim_wrapper = dict(optimizer=dict(lr=1e-4 * 8, weight_decay=3e-3))
custom_hooks = [
    dict(type='PretrainedCheckpointHook', module='backbone',
         prefix='backbone.'),
    dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3,
                                     save_best='auto'))
