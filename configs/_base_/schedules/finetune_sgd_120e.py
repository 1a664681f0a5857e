# CMD finetuning recipe (reference): batch 8, 120 epochs, lr 1e-4 x B and
# weight decay 3e-3 as on UCF101 (HMDB51: finetune_sgd_120e_hmdb51.py), no
# gradient clipping. Learning rate as the reference's finetune.py: linear
# warm-up over the iterations of epochs 1-10 from 4 % of the lr, then a
# cosine stepped once per epoch that reaches 1e-6 in epoch 120 (its value in
# epoch e > 10 is 1e-6 + (lr - 1e-6) (1 + cos(pi (e - 10) / 110)) / 2,
# epochs counted from 1; the cosine's begin=9 makes mmengine's 0-based
# epochs match). A config names its pretraining source (pretrain_config);
# dropout 0.3 is in the model bases.

# The backbone starts from a pretraining checkpoint: set it with
#   --cfg-options pretrained=work_dirs/<pretraining config>/epoch_120.pth
# or train from random initialisation with --cfg-options from_scratch=True;
# without either, training stops before the first step
# (PretrainedCheckpointHook).
pretrain_config = None
pretrained = None
from_scratch = False
custom_hooks = [
    dict(type='PretrainedCheckpointHook', module='backbone',
         prefix='backbone.'),
    dict(type='BadVideoMonitorHook', max_bad_ratio=0.05)
]

base_batch_size = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-4 * base_batch_size, momentum=0.9,
                   nesterov=True, weight_decay=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.04, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=110, eta_min=1e-6, by_epoch=True,
         begin=9, end=120),
]
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
