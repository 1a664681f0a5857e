# Retrieval with the CMD-pretrained c3d on HMDB51 split 1:
#   python tools/test.py THIS_CONFIG work_dirs/<cmd cfg>/epoch_120.pth
_base_ = [
    '../_base_/models/recognizer_c3d.py',
    '../_base_/datasets/hmdb51_retrieval.py',
    '../_base_/default_runtime.py',
]

model = dict(
    _delete_=True,
    type='VideoEmbedder',
    backbone={{_base_.model.backbone}},
    normalize=False,
    data_preprocessor={{_base_.model.data_preprocessor}})
