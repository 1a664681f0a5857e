# The data preprocessor of every RGB model (recognizers, retrieval and
# embedding configs): the one definition of the ImageNet mean/std applied to
# the 0-255 frames. A model base that inherits this file only adds the
# network to this `model` dict.
model = dict(
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
