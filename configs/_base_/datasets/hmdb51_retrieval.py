# Retrieval on HMDB51 split 1: queries = test videos, gallery = train
# videos; one feature per video = global average pool averaged over 10 clips
# (centre crop, embedding_pipeline.py); cosine; R@1/5/10/20/50. A config
# adds the network.
_base_ = ['embedding_pipeline.py']

data_root = 'data/hmdb51/videos'
split = dict(type='VideoDataset', data_prefix=dict(video=data_root),
             pipeline={{_base_.test_pipeline}}, test_mode=True)
test_dataloader = dict(
    batch_size=4, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VideoRetrievalDataset',
        gallery=dict(split, ann_file='data/hmdb51/hmdb51_train_split_1_videos.txt'),
        query=dict(split, ann_file='data/hmdb51/hmdb51_val_split_1_videos.txt')))
# mean_center=True gives CoCLR's variant; the published CMD numbers use
# plain cosine.
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, 5, 10, 20, 50),
                      mean_center=False)
test_cfg = dict(type='TestLoop')
