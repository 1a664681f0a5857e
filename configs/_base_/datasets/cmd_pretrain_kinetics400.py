# CMD pretraining data: Kinetics-400 train, with the pipeline and loader of
# cmd_pretrain_ucf101.py.
_base_ = ['cmd_pretrain_ucf101.py']

data_root = 'data/kinetics400/reencoded/videos'  # docs/datasets.md
ann_file_train = ('data/kinetics400/reencoded/'
                  'kinetics400_train_list_videos.txt')
train_dataloader = dict(dataset=dict(ann_file=ann_file_train,
                                     data_prefix=dict(video=data_root)))
