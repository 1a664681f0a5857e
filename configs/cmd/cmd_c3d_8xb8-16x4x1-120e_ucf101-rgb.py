# CMD pretraining of c3d on ucf101 (8 GPUs x 8 clips).
_base_ = [
    '../_base_/models/cmd_c3d.py', '../_base_/cmd_pretrain_ucf101.py'
]
