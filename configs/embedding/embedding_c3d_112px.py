# C3D (CMD variant) clip embeddings with the ModelScope protocol:
# 512-d vector = global average pool of the backbone, mean over 10 clips of
# 16 frames (stride 4), short side 128, centre crop 112, ImageNet mean/std.
# Weights: a ModelScope pytorch_model.pt converted with
# tools/convert/modelscope_to_mmcmd.py, or any mmcmd checkpoint whose
# backbone is this network (see docs/embedding.md).
custom_imports = dict(imports=['mmcmd'], allow_failed_imports=False)
default_scope = 'mmaction'

model = dict(type='CMDC3D', out_indices=(4, ))

embedding = dict(
    clip_len=16,
    frame_interval=4,
    num_clips=10,
    scale_size=128,  # short side, pixels
    crop_size=112,
    mean=[123.675, 116.28, 103.53],  # RGB, 0-255
    std=[58.395, 57.12, 57.375],
    normalize=False,  # True: L2-normalised vectors
    resize_backend='pil')  # 'pil' (as ModelScope) or 'torch'
