# Retrieval on HMDB51 split 1: queries = test videos, gallery = train videos.
_base_ = ['retrieval_ucf101.py']

data_root = 'data/hmdb51/videos'
test_dataloader = dict(
    dataset=dict(
        gallery=dict(ann_file='data/hmdb51/hmdb51_train_split_1_videos.txt',
                     data_prefix=dict(video=data_root)),
        query=dict(ann_file='data/hmdb51/hmdb51_val_split_1_videos.txt',
                   data_prefix=dict(video=data_root))))
