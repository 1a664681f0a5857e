# CMD pretraining network with the R3D-26 clip encoder.
_base_ = ['cmd_r2plus1d-26.py']
model = dict(backbone=dict(type='CMDResNet3d', depth=26, out_indices=(2, 3)))
