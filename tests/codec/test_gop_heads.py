"""GOPs whose I-frame is not shown: edit-list cuts and damaged heads."""
from __future__ import annotations

import numpy as np
import pytest

from mmcmd.codec import CompressedVideo, VideoDecodeError
from mmcmd.codec.samples import write_panning_video
from mmcmd.codec.testing import decode_all_rgb, write_remuxed

MOTION = (2.0, 1.0)


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    """30-frame pans, GOP 10: H.264 with and without B-frames, MPEG-4."""
    root = tmp_path_factory.mktemp('gop_heads')
    made = {}
    for name, kwargs in (('h264.mp4', {}), ('h264_b.mp4', dict(bframes=2)),
                         ('h264.mkv', {}), ('mpeg4.avi',
                                            dict(codec='mpeg4'))):
        made[name] = write_panning_video(str(root / name), frames=30, gop=10,
                                         motion=MOTION, **kwargs)
    return root, made


def keyframe_rule_holds(video: CompressedVideo) -> bool:
    """keyframe_for(i) is a GOP start at or before i, for every frame."""
    keys = set(video.index.keyframes.tolist())
    return all(video.keyframe_for(i) <= i and video.keyframe_for(i) in keys
               for i in range(video.num_frames))


@pytest.mark.parametrize('name', ['h264.mp4', 'h264_b.mp4'])
def test_edit_list_cut_decodes_every_shown_frame(sources, name):
    root, made = sources
    source = decode_all_rgb(made[name])
    cut = write_remuxed(made[name], str(root / f'cut_{name}'),
                        hidden_frames=3)
    shown = decode_all_rgb(cut)
    np.testing.assert_array_equal(shown, source[3:])  # what players show
    with CompressedVideo(cut) as video:
        index = video.index
        assert video.num_frames == 27
        assert index.keyframes.tolist() == [0, 7, 17]
        assert index.keyframe_shown.tolist() == [False, True, True]
        assert index.pict_types[0] != 'I' and index.timestamps[0] == 0
        assert [video.keyframe_for(i) for i in (0, 6, 7, 26)] == [0, 0, 7, 17]
        assert keyframe_rule_holds(video)
        order = np.arange(27)[::-1]
        out = video.decode(rgb=order, motion=range(27), keyframes=[4, 20])
    np.testing.assert_array_equal(out.rgb, shown[order])
    assert out.keyframe_indices.tolist() == [0, 17]
    # The first GOP's keyframe image is its hidden I-frame (source frame 0).
    np.testing.assert_array_equal(out.keyframes[0], source[0])
    np.testing.assert_array_equal(out.keyframes[1], shown[17])
    # Motion of the frames before the first shown I-frame is the drawn one.
    for field, mask in zip(out.motion[:7], out.mask[:7]):
        assert mask.any()
        assert np.median(field[0][mask]) == MOTION[0]
        assert np.median(field[1][mask]) == MOTION[1]


@pytest.mark.parametrize('name', ['h264.mp4', 'h264.mkv', 'mpeg4.avi'])
def test_head_without_a_seek_point_still_decodes(sources, name):
    root, made = sources
    path = write_remuxed(made[name], str(root / f'unflag_{name}'),
                         head='unflag')
    reference = decode_all_rgb(path)
    with CompressedVideo(path) as video:
        assert video.num_frames == 30 and keyframe_rule_holds(video)
        out = video.decode(rgb=[5, 0, 29], keyframes=[3])
    np.testing.assert_array_equal(out.rgb, reference[[5, 0, 29]])
    np.testing.assert_array_equal(out.keyframes[0], reference[0])


@pytest.mark.parametrize('name', ['h264.mp4', 'h264.mkv', 'mpeg4.avi'])
def test_head_without_its_keyframe_has_a_gop_at_frame_0(sources, name):
    root, made = sources
    path = write_remuxed(made[name], str(root / f'drop_{name}'), head='drop')
    reference = decode_all_rgb(path)
    with CompressedVideo(path) as video:
        index = video.index
        assert video.num_frames == 29
        assert index.keyframes.tolist() == [0, 9, 19]
        assert index.keyframe_shown.tolist() == [False, True, True]
        assert keyframe_rule_holds(video)
        assert video.keyframe_for(5) == 0
        tail = np.arange(9, 29)
        out = video.decode(rgb=tail[::-1], keyframes=[12])
        # The head's P-frames lack their reference: a clear error, naming
        # the file and the frames.
        with pytest.raises(VideoDecodeError, match=r'frames \[2\]'):
            video.decode(rgb=[2, 20])
        with pytest.raises(VideoDecodeError, match=name):
            video.decode(keyframes=[4])
    # Plain FFmpeg drops (H.264) or shows (MPEG-4) the head; the rest match.
    np.testing.assert_array_equal(out.rgb, reference[-20:][::-1])
    np.testing.assert_array_equal(out.keyframes[0], reference[-20])
