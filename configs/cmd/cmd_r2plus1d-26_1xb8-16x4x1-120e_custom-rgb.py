# CMD pretraining of r2plus1d-26 on a folder of your own unlabelled videos
# (1 GPU x 8 clips). Build the list with
#   python tools/data/build_video_list.py data/custom/videos \
#       --out data/custom/train_list.txt
# (docs/datasets.md, "Your own videos"); labels are not used.
_base_ = [
    '../_base_/models/cmd_r2plus1d-26.py',
    '../_base_/datasets/cmd_pretrain_ucf101.py',
    '../_base_/schedules/cmd_sgd_120e.py',
    '../_base_/default_runtime.py',
]

# Gradients through the keys gathered from all GPUs as in the reference
# code: 1 / world size of the exact gradient on the key side
# (key_grad_scale='exact' gives the exact one; configs/cmd/README.md);
# the transformer's Linear layers re-drawn N(0, 0.01) after Xavier, as the
# reference code does (transformer_init='xavier' keeps Xavier).
model = dict(
    context_head=dict(loss=dict(key_grad_scale='reference')),
    motion_head=dict(loss=dict(key_grad_scale='reference'),
                     transformer_init='reference'))

data_root = 'data/custom/videos'
ann_file_train = 'data/custom/train_list.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train,
                                     data_prefix=dict(video=data_root)))

# lr 5e-4 per sample of the total batch: 1 GPU x 8 clips. With more GPUs,
# `--auto-scale-lr` keeps it per sample.
base_batch_size = 8
optim_wrapper = dict(optimizer=dict(lr=5e-4 * base_batch_size))
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)

# a checkpoint every 5 epochs: the newest kept (with its optimizer state, so
# --resume continues a stopped run) plus last_checkpoint pointing at it
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1,
                                     save_last=True))
