"""Bad and unusual files raise or warn exactly as docs/codec.md says."""
from __future__ import annotations

import pickle
import warnings

import av
import numpy as np
import pytest

from mmcmd.codec import (
    CodecError,
    CompressedVideo,
    DecodeBudgetError,
    FrameIndexError,
    NoMotionVectorsError,
    NoVideoStreamError,
    VideoOpenError,
)
from mmcmd.codec.samples import write_panning_video
from mmcmd.codec.testing import decode_all_rgb, write_audio_only


def test_zero_byte_file(tmp_path):
    path = tmp_path / 'empty.mp4'
    path.write_bytes(b'')
    with pytest.raises(VideoOpenError,
                       match=r'empty.mp4: the file is empty \(0 bytes\)'):
        CompressedVideo(path)


def test_missing_file(tmp_path):
    with pytest.raises(VideoOpenError, match='no such file'):
        CompressedVideo(tmp_path / 'absent.mp4')


@pytest.mark.parametrize('content', [
    b'just some text, not a video\n' * 40,
    np.random.default_rng(0).integers(0, 256, 8000, np.uint8).tobytes()])
def test_garbage_and_text(tmp_path, content):
    path = tmp_path / 'fake.mp4'
    path.write_bytes(content)
    with pytest.raises(VideoOpenError, match='fake.mp4'):
        CompressedVideo(path)


def test_truncated_mp4_without_index_cannot_open(tmp_path):
    path = tmp_path / 'cut.mp4'
    write_panning_video(str(path), frames=20)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])  # the moov index is at the end
    with pytest.raises(VideoOpenError, match='cut.mp4'):
        CompressedVideo(path)


def test_truncated_avi_keeps_the_frames_it_has(tmp_path):
    path = tmp_path / 'cut.avi'
    write_panning_video(str(path), codec='mpeg4', frames=30, gop=8)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    decoded = decode_all_rgb(str(path))
    with CompressedVideo(path) as video:
        # The cut packet is flagged corrupt and left out; the rest decode.
        assert 0 < video.num_frames == len(decoded) - 1
        frames = np.arange(video.num_frames)
        np.testing.assert_array_equal(video.read_rgb(frames[::-1]),
                                      decoded[frames[::-1]])
        motion, mask = video.read_motion([video.num_frames - 1])
        assert mask.any()


def test_audio_only(tmp_path):
    path = tmp_path / 'sound.m4a'
    write_audio_only(str(path))
    with pytest.raises(NoVideoStreamError, match='sound.m4a') as info:
        CompressedVideo(path)
    assert isinstance(info.value, VideoOpenError)


def test_hevc_has_no_motion_vectors_but_decodes_rgb(tmp_path):
    path = tmp_path / 'clip.mp4'
    write_panning_video(str(path), codec='hevc', frames=8, gop=4)
    with CompressedVideo(path) as video:
        assert video.codec_name == 'hevc' and not video.has_motion_vectors
        np.testing.assert_array_equal(video.read_rgb([5])[0],
                                      decode_all_rgb(str(path))[5])
        with pytest.raises(NoMotionVectorsError) as info:
            video.read_motion([1])
    message = str(info.value)
    assert 'clip.mp4' in message and 'hevc' in message
    assert 'tools/data/reencode.py' in message


def test_all_intra_warns_once_and_gives_zero_motion(tmp_path):
    path = tmp_path / 'intra.mp4'
    write_panning_video(str(path), frames=6, intra_only=True)
    with CompressedVideo(path) as video:
        assert ''.join(video.index.pict_types) == 'IIIIII'
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            motion, mask = video.read_motion(range(6))
            video.read_motion([2])
    assert len(caught) == 1 and 'intra.mp4' in str(caught[0].message)
    assert motion.shape == (6, 2, 16, 24)
    assert not motion.any() and not mask.any()


def test_mpeg4_b_frames_are_masked_with_a_warning(tmp_path):
    path = tmp_path / 'packed.mp4'
    write_panning_video(str(path), codec='mpeg4', frames=12, gop=12,
                        bframes=2, motion=(2, 0))
    with CompressedVideo(path) as video:
        with pytest.warns(UserWarning, match='B-frame'):
            out = video.decode(motion=range(12))
    is_b = out.motion_pict_types == 'B'
    assert is_b.any() and not out.mask[is_b].any()
    assert out.mask[out.motion_pict_types == 'P'].any()


def test_odd_size_grid(tmp_path):
    path = tmp_path / 'odd.mp4'
    write_panning_video(str(path), size=(98, 62), frames=8, motion=(1, 1))
    with CompressedVideo(path) as video:
        assert (video.width, video.height) == (98, 62)
        out = video.decode(rgb=[7], motion=[3])
    assert out.rgb.shape == (1, 62, 98, 3)
    assert out.motion.shape == (1, 2, 16, 25) and out.mask.shape == (1, 16, 25)
    inner = out.mask[0, 2:-2, 2:-2]
    assert np.median(out.motion[0, 0, 2:-2, 2:-2][inner]) == 1.0


def test_out_of_range_index(panning_videos):
    with CompressedVideo(panning_videos['mpeg4'].path) as video:
        for bad in ([30], [-1], [0, 31]):
            with pytest.raises(FrameIndexError, match='outside'):
                video.decode(rgb=bad)
        with pytest.raises(IndexError):
            video.keyframe_for(99)


def test_decode_budget(panning_videos):
    path = panning_videos['mpeg4'].path
    with CompressedVideo(path, decode_budget_s=0.0) as video:
        with pytest.raises(DecodeBudgetError, match='budget'):
            video.decode(rgb=[29])


def test_closed_video(panning_videos):
    video = CompressedVideo(panning_videos['mpeg4'].path)
    video.close()
    video.close()
    with pytest.raises(VideoOpenError, match='closed'):
        video.decode(rgb=[0])


def test_errors_pickle_for_worker_processes():
    error = NoMotionVectorsError('a/b.mp4', 'no vectors')
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, CodecError) and str(copy) == str(error)
    assert copy.path == 'a/b.mp4'


@pytest.mark.skipif('libsvtav1' not in av.codecs_available,
                    reason='no AV1 encoder in this PyAV build')
def test_codec_name_is_the_codec_not_the_decoder(tmp_path):
    path = tmp_path / 'clip.mkv'
    write_panning_video(str(path), codec='libsvtav1', frames=4, gop=4)
    with CompressedVideo(path) as video:
        assert video.codec_name == 'av1'
        assert video.decoder_name == 'libdav1d'  # FFmpeg's AV1 decoder
        with pytest.raises(NoMotionVectorsError, match='the av1 decoder'):
            video.read_motion([1])
