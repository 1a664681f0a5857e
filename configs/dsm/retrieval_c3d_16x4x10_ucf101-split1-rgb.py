# Retrieval with the DSM-pretrained C3D on UCF101 split 1 (the published
# DSM retrieval numbers use C3D):
#   python tools/test.py THIS_CONFIG work_dirs/<pretrain_config's name>/epoch_100.pth
# Queries = test videos, gallery = train videos, cosine, R@1/5/10/20/50
# (hit if any of the k nearest has the query's class). One vector per
# video: global average pool of the query encoder's last map (keys
# backbone.*), mean over 10 clips of 16 x 4 frames, centre crop 112 (the
# released code: one 64-frame clip at 224, train videos through the
# training augmentation; configs/dsm/README.md).
_base_ = [
    '../_base_/models/recognizer_c3d.py',
    '../_base_/datasets/ucf101_retrieval.py',
    '../_base_/default_runtime.py',
]

pretrain_config = 'configs/dsm/dsm_c3d_1xb3-32x4x1-100e_ucf101-rgb.py'

model = dict(
    _delete_=True,
    type='VideoEmbedder',
    backbone={{_base_.model.backbone}},
    normalize=False,
    data_preprocessor={{_base_.model.data_preprocessor}})
