# CMD pretraining of r3d-26 on ucf101 (8 GPUs x 8 clips).
_base_ = [
    '../_base_/models/cmd_r3d-26.py', '../_base_/cmd_pretrain_ucf101.py'
]
