# The CMD finetuning recipe on HMDB51: lr 2e-4 x B, weight decay 2e-3,
# otherwise finetune_sgd_120e.py.
_base_ = ['finetune_sgd_120e.py']

optim_wrapper = dict(optimizer=dict(lr=2e-4 * 8, weight_decay=2e-3))
