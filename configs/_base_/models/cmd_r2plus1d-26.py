# CMD pretraining network with the R(2+1)D-26 clip encoder
# (72,126,991 parameters, as the reference implementation).
model = dict(
    type='CMD',
    backbone=dict(type='CMDResNet2Plus1d', depth=26, out_indices=(2, 3)),
    # stage 3 folded in time + stage 4 upsampled: the 2048x2x7x7 clip map
    neck=dict(type='ClipMapFusion'),
    motion_backbone=dict(type='CMDResNet3d', depth=10, in_channels=2,
                         stem_stride=1),
    keyframe_backbone=dict(type='CMDResNet2d', depth=10, global_pool=True),
    context_head=dict(
        type='ContextMatchingHead',
        loss=dict(type='GatheredInfoNCE', temperature=0.1, loss_weight=1.0)),
    motion_head=dict(
        type='MotionPredictionHead', embed_dims=512, num_heads=8,
        num_encoder_layers=2, num_decoder_layers=4, feedforward_channels=512,
        dropout=0.1,
        loss=dict(type='GatheredInfoNCE', temperature=0.1, loss_weight=1.0)),
    clip_shape=(16, 112, 112),
    motion_shape=(8, 112, 112),
    keyframe_shape=(112, 112),
    data_preprocessor=dict(type='CMDDataPreprocessor'))
