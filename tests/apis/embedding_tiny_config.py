# A tiny embedding config for the test suite: an 8-channel R(2+1)D-10 and
# 2 clips of 4 frames (stride 2), short side 40, centre crop 32.
custom_imports = dict(imports=['mmcmd'], allow_failed_imports=False)
default_scope = 'mmaction'

model = dict(type='CMDResNet2Plus1d', depth=10, base_channels=8,
             out_indices=(3, ))

embedding = dict(
    clip_len=4,
    frame_interval=2,
    num_clips=2,
    scale_size=40,
    crop_size=32,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    normalize=False,
    resize_backend='pil')
