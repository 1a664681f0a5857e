# Networks of the scene-bias demo, shared by every configs/synthetic file so
# that CMD, the RGB-only baseline and the evaluations use ONE clip encoder:
# an R(2+1)D-10 (basic blocks [1, 1, 1, 1]) with 16 base channels
# (stage widths 16/32/64/128) on 8-frame 64x64 clips. Stages 3 and 4 are
# returned so that CMD can fuse them (64 x 2 x 4 x 4 folded + 128 x 1 x 2 x 2
# -> 128 x 1 x 4 x 4); the video embedding is the 128-d mean of stage 4.
clip_shape = (8, 64, 64)  # frames, height, width (pixels)
motion_shape = (4, 64, 64)  # future motion window: frames, height, width
clip_backbone = dict(type='CMDResNet2Plus1d', depth=10, base_channels=16,
                     out_indices=(2, 3))
clip_neck = dict(type='ClipMapFusion')  # stages 3 + 4 -> one clip map
data_preprocessor = dict(type='CMDDataPreprocessor')
