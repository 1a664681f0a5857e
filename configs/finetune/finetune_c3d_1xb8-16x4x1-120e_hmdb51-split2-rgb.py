# Finetune the CMD-pretrained c3d on HMDB51 split 2.
# Pretraining source: `pretrain_config` below (a Kinetics-400 checkpoint of
# the same network loads the same way). Start from its checkpoint with
#   --cfg-options pretrained=work_dirs/<its name>/epoch_120.pth
# or use --cfg-options from_scratch=True for random initialisation.
_base_ = [
    '../_base_/models/recognizer_c3d.py',
    '../_base_/datasets/hmdb51_rgb.py',
    '../_base_/schedules/finetune_sgd_120e_hmdb51.py',
    '../_base_/default_runtime.py',
]

pretrain_config = 'configs/cmd/cmd_c3d_8xb8-16x4x1-120e_ucf101-rgb.py'

model = dict(cls_head=dict(num_classes=51))

ann_file_train = 'data/hmdb51/hmdb51_train_split_2_videos.txt'
ann_file_test = 'data/hmdb51/hmdb51_val_split_2_videos.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
val_dataloader = dict(dataset=dict(ann_file=ann_file_test))
test_dataloader = dict(dataset=dict(ann_file=ann_file_test))
# a checkpoint every 5 epochs (the 3 newest kept)
default_hooks = dict(checkpoint=dict(interval=5))
