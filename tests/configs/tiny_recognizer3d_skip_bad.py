# tiny_recognizer3d with bad-video skipping and its monitor hook.
_base_ = ['tiny_recognizer3d.py']

train_dataloader = dict(
    dataset=dict(type='CMDVideoDataset',
                 skip_bad_videos=dict(max_attempts=20, seed=0)))
custom_hooks = [dict(type='BadVideoMonitorHook', max_bad_ratio=0.5,
                     min_samples=1)]
