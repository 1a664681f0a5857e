# Finetune the MLFO-pretrained R3D-18 on HMDB51 split 1 with the finetuning
# protocol every mmcmd method shares (configs/_base_/schedules). The
# released MLFO code has no downstream code ("follow CoCLR"); its protocol
# could not be verified (configs/mlfo/README.md).
# Pretraining source: `pretrain_config` below (the Kinetics-400 config's
# checkpoint loads the same way). Start from its checkpoint with
#   --cfg-options pretrained=work_dirs/<its name>/epoch_300.pth
# or use --cfg-options from_scratch=True for random initialisation.
_base_ = [
    '../_base_/models/recognizer_r3d-18.py',
    '../_base_/datasets/hmdb51_rgb.py',
    '../_base_/schedules/finetune_sgd_120e_hmdb51.py',
    '../_base_/default_runtime.py',
]

pretrain_config = 'configs/mlfo/mlfo_r3d-18_4xb64-16x3x1-300e_ucf101-rgb.py'

model = dict(cls_head=dict(num_classes=51))
# a checkpoint every 5 epochs (the 3 newest kept)
default_hooks = dict(checkpoint=dict(interval=5))
