# The CMD pretraining recipe of cmd_sgd_120e.py for a total batch of 512
# (64 GPUs x 8, the Kinetics-400 configs): lr = 5e-4 x 512.
_base_ = ['cmd_sgd_120e.py']

base_batch_size = 512
optim_wrapper = dict(optimizer=dict(lr=5e-4 * base_batch_size))
auto_scale_lr = dict(enable=False, base_batch_size=base_batch_size)
