# Finetune the CMD-pretrained c3d on UCF101 split 1.
# Pretraining source: `pretrain_config` below (a Kinetics-400 checkpoint of
# the same network loads the same way). Start from its checkpoint with
#   --cfg-options pretrained=work_dirs/<its name>/epoch_120.pth
# or use --cfg-options from_scratch=True for random initialisation.
_base_ = [
    '../_base_/models/recognizer_c3d.py',
    '../_base_/datasets/ucf101_rgb.py',
    '../_base_/schedules/finetune_sgd_120e.py',
    '../_base_/default_runtime.py',
]

pretrain_config = 'configs/cmd/cmd_c3d_8xb8-16x4x1-120e_ucf101-rgb.py'

model = dict(cls_head=dict(num_classes=101))
# a checkpoint every 5 epochs (the 3 newest kept)
default_hooks = dict(checkpoint=dict(interval=5))
