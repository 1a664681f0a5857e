# CMD pretraining of r2plus1d-26 on ucf101 (8 GPUs x 8 clips).
_base_ = [
    '../_base_/models/cmd_r2plus1d-26.py',
    '../_base_/datasets/cmd_pretrain_ucf101.py',
    '../_base_/schedules/cmd_sgd_120e.py',
    '../_base_/default_runtime.py',
]

# a checkpoint every 5 epochs, only the newest kept (with the optimizer
# state that --resume needs; docs/workflows.md, "Checkpoints")
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1,
                                     save_last=True))
