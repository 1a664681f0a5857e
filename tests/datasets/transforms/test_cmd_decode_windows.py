"""CMDDecode: each motion window holds the frames of its own indices."""
from __future__ import annotations

import numpy as np

from mmcmd.codec import CompressedVideo
from mmcmd.datasets.transforms import CMDDecode


def test_windows_equal_their_own_decode(panning_h264):
    motion_inds = np.array([20, 21, 22, 23])
    # overlapping, repeated and out-of-order frames, an I-frame (12) inside
    negative_inds = np.array([[9, 10, 11, 12], [23, 22, 21, 20],
                              [40, 41, 9, 9]])
    video = CompressedVideo(panning_h264)
    results = CMDDecode()(dict(video_reader=video, frame_inds=[0, 2],
                               motion_inds=motion_inds,
                               negative_motion_inds=negative_inds))
    with CompressedVideo(panning_h264) as reference:
        motion, mask = reference.read_motion(motion_inds)
        np.testing.assert_array_equal(results['motion'], motion)
        np.testing.assert_array_equal(results['motion_mask'], mask)
        assert results['negative_motion'].shape == (3, 4, 2, 24, 32)
        for window, inds in enumerate(negative_inds):
            motion, mask = reference.read_motion(inds)
            np.testing.assert_array_equal(
                results['negative_motion'][window], motion)
            np.testing.assert_array_equal(
                results['negative_motion_mask'][window], mask)
    # the frames differ (I-frame without vectors), so a mix-up would show
    masks = results['negative_motion_mask'][0]
    assert masks[3].sum() == 0 and masks[0].sum() > 0
    np.testing.assert_array_equal(results['negative_motion'][1],
                                  results['motion'][::-1])


def test_no_negatives_give_empty_windows(panning_h264):
    video = CompressedVideo(panning_h264)
    results = CMDDecode()(dict(video_reader=video, frame_inds=[0],
                               motion_inds=np.array([5, 6])))
    assert results['motion'].shape == (2, 2, 24, 32)
    assert results['negative_motion'].shape == (0, 2, 2, 24, 32)
    assert results['negative_motion_mask'].shape == (0, 2, 24, 32)
