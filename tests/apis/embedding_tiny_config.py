# A tiny embedding config for the test suite: an 8-channel R(2+1)D-10, the
# transforms of configs/_base_/datasets/embedding_pipeline.py with smaller
# numbers: 2 clips of 4 frames (stride 2), short side 40, centre crop 32.
custom_imports = dict(imports=['mmcmd'], allow_failed_imports=False)
default_scope = 'mmaction'

model = dict(
    type='VideoEmbedder',
    backbone=dict(type='CMDResNet2Plus1d', depth=10, base_channels=8,
                  out_indices=(3, )),
    normalize=False,
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))

test_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SegmentCenterSampleFrames', clip_len=4, frame_interval=2,
         num_clips=2, out_of_bound_opt='first_frame'),
    dict(type='CMDDecode'),
    dict(type='PILResize', short_side=40),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
