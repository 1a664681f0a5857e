# Finetune the CMD-pretrained c3d on UCF101 split 1 (reference recipe:
# dropout 0.3, batch 8, 120 epochs, 10-epoch warm-up, lr 0.0001 x B, wd 0.003;
# test: 10 clips x centre crop, scores averaged).
# Start from pretraining with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<cmd cfg>/epoch_120.pth
_base_ = [
    '../_base_/models/recognizer_c3d.py', '../_base_/datasets/ucf101_split1.py',
    '../_base_/datasets/rgb_pipelines.py',
    '../_base_/schedules/finetune_sgd_120e.py', '../_base_/default_runtime.py'
]

model = dict(cls_head=dict(num_classes={{_base_.num_classes}}))
train_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='SkipBadVideos',
        dataset=dict(type='VideoDataset', ann_file={{_base_.ann_file_train}},
                     data_prefix=dict(video={{_base_.data_root}}),
                     pipeline={{_base_.finetune_train_pipeline}})))
val_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file={{_base_.ann_file_test}},
                 data_prefix=dict(video={{_base_.data_root}}),
                 pipeline={{_base_.val_pipeline}}, test_mode=True))
test_dataloader = dict(
    batch_size=1, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file={{_base_.ann_file_test}},
                 data_prefix=dict(video={{_base_.data_root}}),
                 pipeline={{_base_.test_pipeline}}, test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=0.0001 * 8, weight_decay=0.003))
custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3,
                                     save_best='auto'))
