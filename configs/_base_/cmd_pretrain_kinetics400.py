# CMD pretraining on Kinetics-400 train (64 GPUs x 8 = batch 512).
_base_ = ['cmd_pretrain_ucf101.py']

data_root = 'data/kinetics400/videos'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train,
                                     data_prefix=dict(video=data_root)))
base_batch_size = 512
optim_wrapper = dict(optimizer=dict(lr=5e-4 * base_batch_size))
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
