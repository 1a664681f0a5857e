# C3D (CMD variant) clip embeddings with the ModelScope protocol of
# embedding_r2plus1d-26_112px.py; 512-d vectors.
_base_ = ['embedding_r2plus1d-26_112px.py']

model = dict(backbone=dict(_delete_=True, type='CMDC3D', out_indices=(4, )))
