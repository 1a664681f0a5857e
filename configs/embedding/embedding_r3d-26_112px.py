# R3D-26 clip embeddings with the ModelScope protocol of
# embedding_r2plus1d-26_112px.py; 2048-d vectors.
_base_ = ['embedding_r2plus1d-26_112px.py']

model = dict(backbone=dict(_delete_=True, type='CMDResNet3d', depth=26,
                           out_indices=(3, )))
