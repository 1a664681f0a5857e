# tiny_recognizer3d whose dataloader workers die on their first sample.
_base_ = ['tiny_recognizer3d.py']

custom_imports = dict(imports=['mmcmd', 'worker_killer'],
                      allow_failed_imports=False)
train_dataloader = dict(
    num_workers=1,
    dataset=dict(pipeline=[
        dict(type='KillWorkerProcess'),
        dict(type='PyAVInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1),
        dict(type='PyAVDecode'),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]))
