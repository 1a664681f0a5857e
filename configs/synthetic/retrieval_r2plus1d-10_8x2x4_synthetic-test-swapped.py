# Retrieval, queries = test_swapped (scene independent of the class),
# gallery = train (scene follows the class): a scene-based feature fails.
_base_ = ['_base_/retrieval.py']

test_dataloader = dict(dataset=dict(query=dict(
    ann_file='data/synthetic/test_swapped.txt')))
