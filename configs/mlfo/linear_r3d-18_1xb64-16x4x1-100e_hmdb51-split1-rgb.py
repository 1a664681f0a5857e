# Linear probe of the MLFO-pretrained R3D-18 on HMDB51 split 1: frozen
# backbone (BatchNorm in eval, no gradient), a linear classifier on its
# pooled layer4 features; the protocol every mmcmd method shares (the
# released MLFO code has none, configs/mlfo/README.md).
# Pretraining source: `pretrain_config` below. Start from its checkpoint
# with --cfg-options pretrained=work_dirs/<its name>/epoch_300.pth
# or use --cfg-options from_scratch=True for random initialisation.
_base_ = [
    '../_base_/models/recognizer_r3d-18.py',
    '../_base_/datasets/hmdb51_rgb.py',
    '../_base_/schedules/linear_sgd_100e.py',
    '../_base_/default_runtime.py',
]

pretrain_config = 'configs/mlfo/mlfo_r3d-18_4xb64-16x3x1-300e_ucf101-rgb.py'

model = dict(
    backbone=dict(_delete_=True, type='FrozenBackbone',
                  backbone=dict(type='R3DResNet', depth=18,
                                temporal_pool=False, out_indices=(3, )),
                  init_cfg=dict(type='Pretrained', checkpoint=None,
                                prefix='backbone.')),
    cls_head=dict(num_classes=51, dropout_ratio=0.0))

# lighter augmentation than finetuning
train_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline={{_base_.linear_train_pipeline}}))
# a checkpoint every 5 epochs (the 3 newest kept)
default_hooks = dict(checkpoint=dict(interval=5))
