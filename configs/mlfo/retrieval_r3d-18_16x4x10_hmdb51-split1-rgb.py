# Retrieval with the MLFO-pretrained R3D-18 on HMDB51 split 1 (the
# retrieval protocol every mmcmd method shares: pooled layer4 map, 10 clips
# per video; the released MLFO code has none, configs/mlfo/README.md):
#   python tools/test.py THIS_CONFIG work_dirs/<mlfo cfg>/epoch_300.pth
_base_ = [
    '../_base_/models/recognizer_r3d-18.py',
    '../_base_/datasets/hmdb51_retrieval.py',
    '../_base_/default_runtime.py',
]

model = dict(
    _delete_=True,
    type='VideoEmbedder',
    backbone=dict(type='R3DResNet', depth=18, temporal_pool=False,
                  out_indices=(3, )),
    normalize=False,
    data_preprocessor={{_base_.model.data_preprocessor}})
