# Finetuning on HMDB51 split 1: lr 2e-4 x B, wd 2e-3, otherwise as UCF101.
_base_ = ['finetune_ucf101.py']

data_root = 'data/hmdb51/videos'
ann_file_train = 'data/hmdb51/hmdb51_train_split_1_videos.txt'
ann_file_test = 'data/hmdb51/hmdb51_val_split_1_videos.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train,
                                     data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(ann_file=ann_file_test,
                                   data_prefix=dict(video=data_root)))
test_dataloader = dict(dataset=dict(ann_file=ann_file_test,
                                    data_prefix=dict(video=data_root)))
optim_wrapper = dict(optimizer=dict(lr=2e-4 * 8, weight_decay=2e-3))
