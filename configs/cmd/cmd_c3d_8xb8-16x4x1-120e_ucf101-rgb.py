# CMD pretraining of c3d on ucf101 (8 GPUs x 8 clips).
_base_ = [
    '../_base_/models/cmd_c3d.py',
    '../_base_/datasets/cmd_pretrain_ucf101.py',
    '../_base_/schedules/cmd_sgd_120e.py',
    '../_base_/default_runtime.py',
]

# Gradients through the keys gathered from all GPUs as in the reference
# code: 1 / world size of the exact gradient on the key side
# (key_grad_scale='exact' gives the exact one; configs/cmd/README.md);
# the transformer's Linear layers re-drawn N(0, 0.01) after Xavier, as the
# reference code does (transformer_init='xavier' keeps Xavier).
model = dict(
    context_head=dict(loss=dict(key_grad_scale='reference')),
    motion_head=dict(loss=dict(key_grad_scale='reference'),
                     transformer_init='reference'))

# a checkpoint every 5 epochs, only the newest kept (with the optimizer
# state that --resume needs; docs/workflows.md, "Checkpoints")
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1,
                                     save_last=True))
