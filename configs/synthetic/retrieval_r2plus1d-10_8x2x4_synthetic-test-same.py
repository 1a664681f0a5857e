# Retrieval, queries = test_same (scene follows the class as in train),
# gallery = train. A CMD or RGBContrast pretraining checkpoint loads as is:
#   python tools/test.py THIS_CONFIG work_dirs/.../epoch_15.pth
# (its `backbone.*` weights fill the embedder; the heads are ignored).
_base_ = ['_base_/retrieval.py']
