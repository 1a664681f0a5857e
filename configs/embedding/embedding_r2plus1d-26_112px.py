# R(2+1)D-26 clip embeddings with the ModelScope protocol:
# 2048-d vector = global average pool of the backbone, mean over 10 clips of
# 16 frames (stride 4), short side 128, centre crop 112, ImageNet mean/std
# (test_pipeline: ../_base_/datasets/embedding_pipeline.py; mean/std:
# ../_base_/models/rgb_preprocessor.py).
# Weights: a ModelScope pytorch_model.pt (directly, or converted with
# tools/convert/modelscope_to_mmcmd.py), or any mmcmd checkpoint whose
# backbone is this network (see docs/embedding.md).
_base_ = [
    '../_base_/models/rgb_preprocessor.py',
    '../_base_/datasets/embedding_pipeline.py',
]
custom_imports = dict(imports=['mmcmd'], allow_failed_imports=False)
default_scope = 'mmaction'

model = dict(
    type='VideoEmbedder',
    backbone=dict(type='CMDResNet2Plus1d', depth=26, out_indices=(3, )),
    normalize=False)  # True: L2-normalised vectors
