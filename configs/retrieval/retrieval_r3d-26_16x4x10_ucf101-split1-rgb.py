# Retrieval with the CMD-pretrained r3d-26: queries = UCF101 split 1 test
# videos, gallery = split 1 train videos; one feature per video = global
# average pool averaged over 10 clips (centre crop); cosine; R@1/5/10/20/50.
#   python tools/test.py THIS_CONFIG work_dirs/<cmd cfg>/epoch_120.pth
_base_ = [
    '../_base_/models/recognizer_r3d-26.py', '../_base_/datasets/ucf101_split1.py',
    '../_base_/datasets/rgb_pipelines.py', '../_base_/default_runtime.py'
]

model = dict(
    _delete_=True,
    type='VideoEmbedder',
    backbone={{_base_.model.backbone}},
    normalize=False,
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
split = dict(type='VideoDataset', data_prefix=dict(video={{_base_.data_root}}),
             pipeline={{_base_.test_pipeline}}, test_mode=True)
test_dataloader = dict(
    batch_size=4, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoRetrievalDataset',
                 gallery=dict(split, ann_file={{_base_.ann_file_train}}),
                 query=dict(split, ann_file={{_base_.ann_file_test}})))
# mean_center=True gives CoCLR's variant; the published CMD numbers use
# plain cosine.
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, 5, 10, 20, 50),
                      mean_center=False)
test_cfg = dict(type='TestLoop')
