# The synthetic scene-bias benchmark (docs/synthetic.md): write it with
#   python tools/data/synthetic/generate.py --out data/synthetic --workers 2
# and point `data_root` elsewhere with --cfg-options (see tools/demo.py).
data_root = 'data/synthetic'
dataset_type = 'VideoDataset'
splits = dict(train='train.txt', test_same='test_same.txt',
              test_swapped='test_swapped.txt')
