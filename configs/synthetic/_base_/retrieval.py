# Video retrieval on the synthetic benchmark: every video of the `train`
# split is the gallery, the test split (set `query_split`) the queries.
# One 128-d vector per video: global average pool of the clip encoder, mean
# over 4 clips of 8 frames (interval 2) at the centres of 4 equal segments,
# whole 112x112 frame resized to 64x64 (no crop, no flip: a flip changes
# the class of this data). Cosine similarity, plain (not mean-centred).
_base_ = ['../../_base_/default_runtime.py', 'models.py']

model = dict(
    type='VideoEmbedder',
    backbone={{_base_.clip_backbone}},
    data_preprocessor={{_base_.data_preprocessor}})

test_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=4,
         test_mode=True),
    dict(type='CMDDecode'),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VideoRetrievalDataset',
        gallery=dict(type='VideoDataset',
                     ann_file='data/synthetic/train.txt',
                     data_prefix=dict(video='data/synthetic'),
                     pipeline=test_pipeline, test_mode=True),
        query=dict(type='VideoDataset',
                   ann_file='data/synthetic/test_same.txt',
                   data_prefix=dict(video='data/synthetic'),
                   pipeline=test_pipeline, test_mode=True)))
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, 5, 10))
test_cfg = dict(type='TestLoop')
