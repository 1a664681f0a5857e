# HMDB51 split 1 (annotation files from tools/data/hmdb51/).
# Splits 2 and 3: the *-split2-* / *-split3-* configs, or override
# ann_file_train / ann_file_test in a config of your own.
dataset_type = 'VideoDataset'
data_root = 'data/hmdb51/videos'
ann_file_train = 'data/hmdb51/hmdb51_train_split_1_videos.txt'
ann_file_test = 'data/hmdb51/hmdb51_val_split_1_videos.txt'
num_classes = 51
