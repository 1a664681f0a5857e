"""Clip indices of the ModelScope multi-clip protocol, checked by hand."""
import numpy as np
import pytest

from mmcmd.apis.clip_sampling import (clip_frame_indices, clip_span,
                                      clip_start_indices)


def test_span_of_reference_clip():
    assert clip_span(16, 4) == 61


def test_short_video_starts_at_zero_and_wraps_past_the_end():
    indices = clip_frame_indices(40, clip_len=16, frame_interval=4,
                                 num_clips=10)
    one_clip = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 0, 0, 0, 0, 0, 0]
    assert indices.shape == (10, 16)
    assert (indices == np.array(one_clip)).all()


def test_exactly_one_span_counts_as_short():
    assert (clip_start_indices(61) == 0).all()
    assert clip_frame_indices(61)[0, -1] == 60


def test_long_video_starts_at_segment_midpoints():
    # 161 frames: starts in [0, 100], 10 segments of 10 frames.
    starts = clip_start_indices(161)
    assert starts.tolist() == [5, 15, 25, 35, 45, 55, 65, 75, 85, 95]
    indices = clip_frame_indices(161)
    assert indices[0].tolist() == list(range(5, 66, 4))
    assert indices[-1].tolist() == list(range(95, 156, 4))
    assert indices.max() == 155


def test_fractional_midpoints_are_truncated():
    # 100 frames: [0, 39] in segments of 3.9; midpoints 1.95, 5.85, ...
    assert clip_start_indices(100).tolist() == [1, 5, 9, 13, 17, 21, 25, 29,
                                                33, 37]
    # 62 frames: [0, 1] -> every midpoint is below 1.
    assert (clip_start_indices(62) == 0).all()


def test_other_clip_shapes():
    # 4 frames at stride 2 span 7; 30 frames -> [0, 23] in 2 halves.
    assert clip_start_indices(30, 4, 2, 2).tolist() == [5, 17]
    assert clip_frame_indices(30, 4, 2, 2).tolist() == [[5, 7, 9, 11],
                                                        [17, 19, 21, 23]]


def test_invalid_arguments():
    with pytest.raises(ValueError, match='at least one frame'):
        clip_start_indices(0)
    with pytest.raises(ValueError, match='>= 1'):
        clip_start_indices(10, clip_len=0)
