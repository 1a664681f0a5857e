# CMD finetuning recipe (reference): batch 8, 120 epochs, 10-epoch warm-up
# then cosine, lr 1e-4 x B and weight decay 3e-3 as on UCF101 (HMDB51:
# finetune_sgd_120e_hmdb51.py). A config names its pretraining source
# (pretrain_config); dropout 0.3 is in the model bases.

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
                   nesterov=True, weight_decay=3e-3),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=110, eta_min=0, by_epoch=True,
         begin=10, end=120, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
