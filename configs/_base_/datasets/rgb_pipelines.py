# RGB training and validation pipelines of finetuning and linear probes
# (112x112); the dataset bases (ucf101_rgb.py, hmdb51_rgb.py) inherit them
# beside embedding_pipeline.py. Frames come from mmcmd's reader (frame count
# from the stream's packets, not the container header); the rest is
# mmaction2's transforms.
clip_len = 16
frame_interval = 4
# Finetuning augmentation in the reference's order: rotation by up to
# +-10 degrees (one angle per clip), random resized crop (area 0.2-1),
# flip, blur and colour jitter.
finetune_train_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CMDDecode'),
    dict(type='RandomRotation', max_angle=10),
    dict(type='RandomResizedCrop', area_range=(0.2, 1.0)),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', ), grayscale_prob=0.0),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
linear_train_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CMDDecode'),
    dict(type='RandomResizedCrop', area_range=(0.5, 1.0)),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='CMDDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
# Testing uses test_pipeline of embedding_pipeline.py (10 clips at the
# centres of 10 equal segments, short side 128, centre crop 112): finetune
# testing, retrieval and embeddings share one definition.
