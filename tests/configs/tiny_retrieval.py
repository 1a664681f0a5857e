# Retrieval (test = queries, train = gallery) with a tiny backbone.
# Run with the working directory holding data/tiny/{videos,train.txt,val.txt}.
_base_ = ['../../configs/_base_/default_runtime.py']

model = dict(
    type='VideoEmbedder',
    backbone=dict(
        type='ResNet3d', depth=18, base_channels=8, pretrained=None,
        pretrained2d=False, conv1_kernel=(1, 3, 3), conv1_stride_t=1,
        pool1_stride_t=1, inflate=(0, 0, 0, 0)),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))

data_root = 'data/tiny'
test_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=3,
         test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
split = dict(type='VideoDataset', data_prefix=dict(video=f'{data_root}/videos'),
             pipeline=test_pipeline, test_mode=True)
test_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoRetrievalDataset',
                 gallery=dict(split, ann_file=f'{data_root}/train.txt'),
                 query=dict(split, ann_file=f'{data_root}/val.txt')))
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, 2, 5))
test_cfg = dict(type='TestLoop')
