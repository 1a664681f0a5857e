# Finetune the CMD-pretrained r3d-26 on UCF101 split 1. Start from
# pretraining with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<cmd cfg>/epoch_120.pth
_base_ = [
    '../_base_/models/recognizer_r3d-26.py', '../_base_/finetune_ucf101.py'
]

model = dict(cls_head=dict(num_classes=101))
