# CMD with an mmaction2 backbone as the clip encoder: ResNet2Plus1d-18.
# Its stage-3 (256 ch) and stage-4 (512 ch) maps are fused like the
# R(2+1)D-26 ones; the heads size themselves from a dry run.
# Data and recipe of cmd_r2plus1d-26_8xb8-16x4x1-120e_ucf101-rgb.py.
_base_ = [
    '../_base_/models/cmd_r2plus1d-26.py',
    '../_base_/datasets/cmd_pretrain_ucf101.py',
    '../_base_/schedules/cmd_sgd_120e.py',
    '../_base_/default_runtime.py',
]

# Key-side gradients as in the reference code: 1 / world size of the exact
# gradient (key_grad_scale='exact' gives the exact one; README.md); the
# transformer's Linear layers re-drawn N(0, 0.01) as the reference does.
model = dict(
    context_head=dict(loss=dict(key_grad_scale='reference')),
    motion_head=dict(loss=dict(key_grad_scale='reference'),
                     transformer_init='reference'),
    backbone=dict(
        _delete_=True,
        type='ResNet2Plus1d',
        depth=18,
        pretrained=None,
        pretrained2d=False,
        norm_eval=False,
        conv_cfg=dict(type='Conv2plus1d'),
        norm_cfg=dict(type='BN3d', requires_grad=True, eps=1e-3),
        conv1_kernel=(3, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(1, 1, 1, 1),
        spatial_strides=(1, 2, 2, 2),
        temporal_strides=(1, 2, 2, 2),
        out_indices=(2, 3),
        zero_init_residual=False))

# a checkpoint every 5 epochs, only the newest kept (with the optimizer
# state that --resume needs; docs/workflows.md, "Checkpoints")
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1,
                                     save_last=True))
