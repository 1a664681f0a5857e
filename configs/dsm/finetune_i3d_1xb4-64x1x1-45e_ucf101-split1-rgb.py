# Finetune the DSM-pretrained Inception-v1 I3D on UCF101 split 1 with the
# released code's finetuning recipe: 64 frames at stride 1, 224 x 224,
# batch 4, 45 epochs, SGD lr 0.001 (momentum 0.9, weight decay 1e-8),
# lr x0.3 at epochs 10/20/25/30/35/40, dropout 0.5; train augmentation as
# in pretraining (rotation, short side 256, random 224 crop, colour
# jitter, no flip). Deviations: configs/dsm/README.md (mmaction2's
# I3DHead instead of the released pooled bias-free conv head; 10 test
# clips instead of its first 2 windows).
# Start from the pretraining checkpoint (the query encoder, keys
# backbone.*) with
#   --cfg-options pretrained=work_dirs/<pretrain_config's name>/epoch_100.pth
# or use --cfg-options from_scratch=True for random initialisation.
_base_ = [
    '../_base_/models/recognizer_i3d.py',
    '../_base_/datasets/ucf101_rgb.py',
    '../_base_/schedules/dsm_finetune_sgd_45e.py',
    '../_base_/default_runtime.py',
]

pretrain_config = 'configs/dsm/dsm_i3d_1xb3-32x4x1-100e_ucf101-rgb.py'

clip_len = 64
frame_interval = 1
train_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CMDDecode'),
    dict(type='RandomRotation', max_angle=10.0),
    dict(type='CMDResize', scale=256),
    dict(type='RandomCrop', size=224),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.5, 0.5, 0.25, 0.5), jitter_prob=1.0, grayscale_prob=0.0,
         blur_prob=0.0),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='CMDDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=10, test_mode=True),
    dict(type='CMDDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(batch_size=4, drop_last=True,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# a checkpoint every 5 epochs (the 3 newest kept)
default_hooks = dict(checkpoint=dict(interval=5))
