# The one test pipeline of a video's embedding (the ModelScope protocol and
# CMD's multi-clip test): 10 clips of 16 frames every 4 frames starting at
# the centres of 10 equal segments of [0, num_frames - 61] (videos of at most
# 61 frames: every clip at frame 0, frames past the end -> frame 0), short
# side to 128 px (PIL bilinear with antialiasing), centre crop 112. Mean/std
# normalisation is the model's data_preprocessor. Used by configs/embedding,
# the retrieval configs and finetune testing (ucf101_rgb.py, hmdb51_rgb.py).
test_pipeline = [
    dict(type='CompressedVideoInit'),
    dict(type='SegmentCenterSampleFrames', clip_len=16, frame_interval=4,
         num_clips=10, out_of_bound_opt='first_frame'),
    dict(type='CMDDecode'),
    dict(type='PILResize', short_side=128),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
