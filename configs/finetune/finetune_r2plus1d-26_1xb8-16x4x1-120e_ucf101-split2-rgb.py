# UCF101 split 2: the split-1 config with split-2 annotations.
_base_ = ['finetune_r2plus1d-26_1xb8-16x4x1-120e_ucf101-split1-rgb.py']

ann_file_train = 'data/ucf101/ucf101_train_split_2_videos.txt'
ann_file_test = 'data/ucf101/ucf101_val_split_2_videos.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
val_dataloader = dict(dataset=dict(ann_file=ann_file_test))
test_dataloader = dict(dataset=dict(ann_file=ann_file_test))
