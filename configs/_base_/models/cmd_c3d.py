# CMD pretraining network with the CMD variant of C3D (its own 512x2x7x7 map,
# the clip map as it is: no neck).
_base_ = ['cmd_r2plus1d-26.py']
model = dict(backbone=dict(_delete_=True, type='CMDC3D'), neck=None)
