# tiny_recognizer3d with the bad-video wrapper and its monitor hook.
_base_ = ['tiny_recognizer3d.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='SkipBadVideos',
        dataset=dict(type='VideoDataset', ann_file='data/tiny/train.txt',
                     data_prefix=dict(video='data/tiny/videos'),
                     pipeline={{_base_.train_pipeline}})))
custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.5,
                     min_samples=1)]
