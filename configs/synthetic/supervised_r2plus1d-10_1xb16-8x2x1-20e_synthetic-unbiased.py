# The ceiling of the scene-bias demo: the supervised reference
# (supervised_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py, same encoder, clips,
# optimiser and schedule) trained on an UNBIASED train split, where every
# scene is as likely for every class (own scene 1 in 10), so only the motion
# predicts the label. Generate that split with
#   python tools/data/synthetic/generate.py --out data/synthetic_unbiased \
#       --own-scene-prob 0.1 --seed 1000
# (tools/demo.py writes it to WORK_DIR/data_unbiased).
_base_ = ['supervised_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py']

train_dataloader = dict(dataset=dict(
    ann_file='data/synthetic_unbiased/train.txt',
    data_prefix=dict(video='data/synthetic_unbiased')))
