# The real R(2+1)D-26 UCF101 retrieval config, shrunk for the tiny videos.
_base_ = ['../../configs/retrieval/retrieval_r2plus1d-26_16x4x10_ucf101-split1-rgb.py']

model = dict(backbone=dict(depth=10, base_channels=8))
test_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=3,
         test_mode=True),
    dict(type='CMDDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
split = dict(type='VideoDataset', data_prefix=dict(video='data/tiny/videos'),
             pipeline=test_pipeline, test_mode=True)
test_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(gallery=dict(split, ann_file='data/tiny/train.txt'),
                 query=dict(split, ann_file='data/tiny/val.txt')))
test_evaluator = dict(topk=(1, 5))
