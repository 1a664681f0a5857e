# HMDB51 split 3: the split-1 config with split-3 annotations.
_base_ = ['linear_r3d-26_1xb64-16x4x1-100e_hmdb51-split1-rgb.py']

ann_file_train = 'data/hmdb51/hmdb51_train_split_3_videos.txt'
ann_file_test = 'data/hmdb51/hmdb51_val_split_3_videos.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
val_dataloader = dict(dataset=dict(ann_file=ann_file_test))
test_dataloader = dict(dataset=dict(ann_file=ann_file_test))
