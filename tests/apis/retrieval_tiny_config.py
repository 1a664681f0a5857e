# Retrieval (tools/test.py) with the model and test_pipeline of
# embedding_tiny_config.py. Run with the working directory holding
# data/emb/{videos,gallery.txt,query.txt}.
_base_ = ['embedding_tiny_config.py']

data_root = 'data/emb'
split = dict(type='VideoDataset',
             data_prefix=dict(video=f'{data_root}/videos'),
             pipeline={{_base_.test_pipeline}}, test_mode=True)
test_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoRetrievalDataset',
                 gallery=dict(split, ann_file=f'{data_root}/gallery.txt'),
                 query=dict(split, ann_file=f'{data_root}/query.txt')))
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, ))
test_cfg = dict(type='TestLoop')
