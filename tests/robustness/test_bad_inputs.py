"""Each class of bad input: what the reader, check_video and training do.

docs/robustness.md lists the same classes; each row there is a case here.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Dict, Optional, Tuple

import av
import numpy as np
import pytest
from PIL import Image

from mmcmd.codec import (
    CompressedVideo,
    DecodeBudgetError,
    NoMotionVectorsError,
    NoVideoStreamError,
    VideoOpenError,
    VideoTooShortError,
)
from mmcmd.codec.encode import add_video_stream, write_frames
from mmcmd.codec.samples import (
    panning_frames,
    textured_scene,
    write_panning_video,
)
from mmcmd.codec.testing import decode_all_rgb, write_audio_only
from mmcmd.utils.video_check import check_video

SIZE = (96, 64)  # width, height
AV1_ENCODER = next((name for name in ('libsvtav1', 'libaom-av1', 'librav1e')
                    if name in av.codecs_available), None)


def _cut(source: Path, target: Path, keep: int) -> Path:
    """Write the first ``keep`` bytes of ``source`` to ``target``."""
    target.write_bytes(source.read_bytes()[:keep])
    return target


def _write_rotated(path: Path, degrees: int) -> Path:
    """H.264 pan whose container says: display rotated by ``degrees``."""
    with av.open(str(path), 'w') as container:
        stream = add_video_stream(container, 'h264', *SIZE, Fraction(25), 10)
        stream.set_display_rotation(degrees)
        for rgb in panning_frames(SIZE, 10, (2.0, 1.0)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(
                    rgb, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


#: display times of the variable-frame-rate video (milliseconds).
VFR_PTS_MS = np.array([0, 103, 183, 249, 288, 331, 345, 363, 374, 403, 502,
                       583, 693, 758, 834, 950, 1040, 1119, 1188, 1259])


def _write_vfr(path: Path) -> Path:
    """H.264 with B-frames, 20 frames at irregular times (1/1000 s base)."""
    frames = panning_frames(SIZE, len(VFR_PTS_MS), (2.0, 0.0))
    with av.open(str(path), 'w') as container:
        stream = add_video_stream(container, 'h264', *SIZE, Fraction(25), 8,
                                  bframes=2, quality=14)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.time_base = Fraction(1, 1000)
        for rgb, pts in zip(frames, VFR_PTS_MS):
            frame = av.VideoFrame.from_ndarray(rgb, format='rgb24')
            frame.pts, frame.time_base = int(pts), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _stream_copy_cut(source: Path, target: Path, hidden: int) -> Path:
    """Remux ``source`` with its first ``hidden`` frames before time 0.

    What ``ffmpeg -ss T -c copy`` writes when T falls inside a GOP: the
    GOP's keyframe stays in the file but an edit list hides it (the demuxer
    flags those packets discard); players decode it and show from T.
    """
    with av.open(str(source)) as inp, av.open(str(target), 'w') as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        step = int(round(1 / (stream.time_base * stream.average_rate)))
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue  # the demuxer's final flush packet
            packet.pts -= hidden * step
            packet.dts -= hidden * step
            packet.stream = copy
            out.mux(packet)
    return target


@pytest.fixture(scope='module')
def files(tmp_path_factory) -> Dict[str, Path]:
    """One generated file per input class, plus the valid files they cut."""
    root = tmp_path_factory.mktemp('bad_inputs')
    made: Dict[str, Path] = {}

    def pan(name: str, **kwargs) -> Path:
        path = root / name
        write_panning_video(str(path), size=kwargs.pop('size', SIZE),
                            **kwargs)
        return path

    made['valid_mp4'] = pan('valid.mp4', frames=20, gop=10, bframes=2)
    made['valid_mkv'] = pan('valid.mkv', frames=20, gop=10, bframes=2)
    made['valid_avi'] = pan('valid.avi', codec='mpeg4', frames=20, gop=8)
    (root / 'zero.mp4').write_bytes(b'')
    made['zero_bytes'] = root / 'zero.mp4'
    made['random_bytes'] = root / 'random.mp4'
    made['random_bytes'].write_bytes(np.random.default_rng(0).bytes(20000))
    made['text_as_mp4'] = root / 'notes.mp4'
    made['text_as_mp4'].write_text('id,label\n' + 'v_01,jump\n' * 200)
    image = Image.fromarray(textured_scene(SIZE[1], SIZE[0]).astype(np.uint8))
    made['png_as_mp4'] = root / 'png_as_mp4.mp4'
    image.save(made['png_as_mp4'], format='PNG')
    made['jpeg_as_mp4'] = root / 'jpeg_as_mp4.mp4'
    image.save(made['jpeg_as_mp4'], format='JPEG', quality=95)
    made['audio_only'] = Path(write_audio_only(str(root / 'audio.mp4')))
    for ext in ('mp4', 'mkv', 'avi'):
        valid = made[f'valid_{ext}']
        made[f'truncated_half_{ext}'] = _cut(
            valid, root / f'half.{ext}', valid.stat().st_size // 2)
        made[f'header_only_{ext}'] = _cut(valid, root / f'head.{ext}', 1536)
    made['hevc'] = pan('hevc.mp4', codec='hevc', frames=8, gop=4)
    made['vp9'] = pan('vp9.webm', codec='vp9', frames=8, gop=4)
    if AV1_ENCODER:
        made['av1'] = pan('av1.mkv', codec=AV1_ENCODER, frames=8, gop=4)
    made['all_intra'] = pan('intra.mp4', frames=6, intra_only=True)
    made['one_frame'] = pan('one.mp4', frames=1)
    made['short_20_frames'] = pan('short.mp4', frames=20, gop=8,
                                  motion=(1.0, 0.0))
    made['odd_size_h264'] = pan('odd.mp4', size=(98, 62), frames=8,
                                motion=(1.0, 1.0))
    made['odd_size_mpeg4'] = pan('odd.avi', codec='mpeg4', size=(90, 54),
                                 frames=8, motion=(1.0, 1.0))
    made['rotated_90'] = _write_rotated(root / 'rotated.mp4', 90)
    made['variable_frame_rate'] = _write_vfr(root / 'vfr.mkv')
    made['stream_copy_cut'] = _stream_copy_cut(
        pan('gops.mp4', frames=30, gop=10), root / 'cut_copy.mp4', hidden=3)
    made['long_300_frames'] = Path(write_frames(
        str(root / 'long.mp4'), panning_frames((32, 32), 300, (1.0, 0.0)),
        gop=300))
    return made


@dataclass(frozen=True)
class Expect:
    """Documented behaviour of one input class (docs/robustness.md)."""

    #: exception type, or None when every stage works.
    error: Optional[type] = None
    #: 'open', 'index', 'rgb' or 'motion': the stage that raises.
    stage: Optional[str] = None
    #: part of the error's reason.
    reason: str = ''
    #: part of check_video's reason with require_motion (None: ok).
    check: Optional[str] = None
    #: check_video(require_motion=False) reports ok.
    rgb_only_ok: bool = False


CANNOT_OPEN = Expect(VideoOpenError, 'open', 'FFmpeg cannot open it',
                     'VideoOpenError')
NO_FRAMES = Expect(VideoTooShortError, 'index', 'no frames',
                   'VideoTooShortError')
KEEPS_PREFIX = Expect(check=None, rgb_only_ok=True)


def no_motion(codec: str, intra: bool = False) -> Expect:
    """Opens and decodes RGB; motion raises NoMotionVectorsError."""
    return Expect(NoMotionVectorsError, 'motion',
                  f'the {codec} decoder exports no motion vectors',
                  f'no motion vectors ({codec}{", all-intra" * intra})',
                  rgb_only_ok=True)


EXPECTED: Dict[str, Expect] = {
    'zero_bytes': Expect(VideoOpenError, 'open',
                         'the file is empty (0 bytes)', 'VideoOpenError'),
    'random_bytes': CANNOT_OPEN,
    'text_as_mp4': CANNOT_OPEN,
    'png_as_mp4': no_motion('png', intra=True),
    'jpeg_as_mp4': no_motion('mjpeg', intra=True),
    'audio_only': Expect(NoVideoStreamError, 'open', 'no decodable video',
                         'NoVideoStreamError'),
    'truncated_half_mp4': CANNOT_OPEN,
    'truncated_half_mkv': KEEPS_PREFIX,
    'truncated_half_avi': KEEPS_PREFIX,
    'header_only_mp4': CANNOT_OPEN,
    'header_only_mkv': NO_FRAMES,
    'header_only_avi': CANNOT_OPEN,
    'hevc': no_motion('hevc'),
    'vp9': no_motion('vp9'),
    'av1': no_motion('av1'),  # the codec, though libdav1d decodes it
    'all_intra': Expect(check='no motion vectors (h264, all-intra)',
                        rgb_only_ok=True),
    'one_frame': Expect(check='no motion vectors (h264, all-intra)',
                        rgb_only_ok=True),
    'short_20_frames': Expect(rgb_only_ok=True),
    'odd_size_h264': Expect(rgb_only_ok=True),
    'odd_size_mpeg4': Expect(rgb_only_ok=True),
    'rotated_90': Expect(rgb_only_ok=True),
    'variable_frame_rate': Expect(rgb_only_ok=True),
}
CLASSES = [pytest.param(name, marks=pytest.mark.skipif(
    name == 'av1' and AV1_ENCODER is None,
    reason='no AV1 encoder in this PyAV build')) for name in EXPECTED]


def read_every_stage(path: Path) -> Tuple[Optional[str], Optional[Exception]]:
    """Open, index, decode RGB + keyframe, decode motion of every frame.

    Returns the stage that raised and the exception, or (None, None).
    """
    stage = 'open'
    try:
        with CompressedVideo(path) as video:
            stage = 'index'
            count = video.num_frames
            stage = 'rgb'
            out = video.decode(rgb=[0, count - 1], keyframes=[count - 1])
            assert out.rgb.shape == (2, video.height, video.width, 3)
            stage = 'motion'
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                video.decode(motion=range(count))
    except Exception as error:  # the test compares it with the table
        return stage, error
    return None, None


@pytest.mark.parametrize('name', CLASSES)
def test_reader_raises_the_documented_error_naming_the_file(files, name):
    expect, path = EXPECTED[name], files[name]
    stage, error = read_every_stage(path)
    if expect.error is None:
        assert error is None, f'{name}: {stage}: {error!r}'
        return
    assert type(error) is expect.error, f'{name}: {stage}: {error!r}'
    assert stage == expect.stage
    assert error.path == str(path) and str(path) in str(error)
    assert expect.reason in error.reason


@pytest.mark.parametrize('name', CLASSES)
def test_check_video_reports_each_class(files, name):
    expect, path = EXPECTED[name], files[name]
    report = check_video(str(path))
    assert report['path'] == str(path)
    if expect.check is None:
        assert report['ok'] and report['reason'] == '', report
    else:
        assert not report['ok'] and expect.check in report['reason'], report
    relaxed = check_video(str(path), require_motion=False)
    assert relaxed['ok'] == (expect.rgb_only_ok or expect.check is None)
    if expect.error is None or expect.stage == 'motion':
        with CompressedVideo(path) as video:
            assert report['num_frames'] == video.num_frames
            assert report['codec'] == video.codec_name


@pytest.mark.parametrize('ext', ['mkv', 'avi'])
def test_truncated_file_keeps_every_frame_before_the_cut(files, ext):
    full = decode_all_rgb(str(files[f'valid_{ext}']))
    with CompressedVideo(files[f'truncated_half_{ext}']) as video:
        count = video.num_frames
        assert 0 < count < len(full)
        order = np.arange(count)[::-1]
        np.testing.assert_array_equal(video.read_rgb(order), full[order])
        motion, mask = video.read_motion([count - 1])
        assert mask.any()


@pytest.mark.parametrize('name', ['hevc', 'vp9', pytest.param(
    'av1', marks=pytest.mark.skipif(AV1_ENCODER is None,
                                    reason='no AV1 encoder in this PyAV '
                                    'build'))])
def test_codecs_without_motion_vectors_still_decode_rgb(files, name):
    path = files[name]
    reference = decode_all_rgb(str(path))
    drawn = panning_frames(SIZE, 8, (2.0, 1.0))
    with CompressedVideo(path) as video:
        assert not video.has_motion_vectors and video.num_frames == 8
        np.testing.assert_array_equal(video.read_rgb(range(8)), reference)
        with pytest.raises(NoMotionVectorsError,
                           match='tools/data/reencode.py'):
            video.read_motion([1])
    # Lossy, but the frames are the drawn ones, in order.
    error = np.abs(reference.astype(int) - drawn).mean(axis=(1, 2, 3))
    assert (error < 12).all(), error


@pytest.mark.parametrize('name', ['png_as_mp4', 'jpeg_as_mp4'])
def test_still_image_named_mp4_is_a_one_frame_video(files, name):
    image = textured_scene(SIZE[1], SIZE[0]).astype(np.uint8)
    with CompressedVideo(files[name]) as video:
        assert video.num_frames == 1 and video.index.all_intra
        rgb = video.read_rgb([0])[0].astype(int)
    np.testing.assert_array_equal(rgb, decode_all_rgb(str(files[name]))[0])
    if name == 'png_as_mp4':
        np.testing.assert_array_equal(rgb, image)  # lossless
    else:
        assert np.abs(rgb - image).mean() < 6


@pytest.mark.parametrize('name, count', [('all_intra', 6), ('one_frame', 1)])
def test_no_motion_streams_give_zero_motion_and_a_warning(files, name,
                                                          count, tmp_path):
    path = tmp_path / files[name].name  # the warning comes once per file
    path.write_bytes(files[name].read_bytes())
    with CompressedVideo(path) as video:
        assert ''.join(video.index.pict_types) == 'I' * count
        with pytest.warns(UserWarning, match='every frame is an I-frame'):
            out = video.decode(rgb=range(count), motion=range(count))
    assert out.motion.shape == (count, 2, 16, 24)
    assert not out.motion.any() and not out.mask.any()
    np.testing.assert_array_equal(out.rgb, decode_all_rgb(str(path)))


@pytest.mark.parametrize('name, count', [('short_20_frames', 20),
                                         ('one_frame', 1)])
def test_video_shorter_than_the_clip_loops(files, name, count):
    from mmcmd.datasets.transforms.loading import (
        CMDDecode,
        CMDSampleFrames,
        CompressedVideoInit,
    )
    path = str(files[name])
    results = CompressedVideoInit()(dict(filename=path))
    assert results['total_frames'] == count
    sampler = CMDSampleFrames(clip_len=16, frame_interval=4, future_gap=2,
                              motion_len=8, num_negatives=3)
    assert sampler.span == 71 > count
    np.random.seed(0)
    results = CMDDecode()(sampler(results))
    # The clip starts at frame 0 and wraps: index i*4 reads frame (i*4) % N.
    expected = np.arange(16) * 4 % count
    np.testing.assert_array_equal(results['frame_inds'], expected)
    np.testing.assert_array_equal(results['motion_inds'],
                                  (63 + np.arange(8)) % count)
    assert results['negative_motion_inds'].shape == (3, 8)
    assert (results['negative_motion_inds'] < count).all()
    np.testing.assert_array_equal(results['imgs'],
                                  decode_all_rgb(path)[expected])
    assert results['motion'].shape == (8, 2, 16, 24)
    moving = results['motion_mask']
    if count == 1:
        assert not moving.any()
    else:  # every non-I window frame carries the drawn 1 px/frame
        assert np.median(results['motion'][:, 0][moving]) == 1.0
    with pytest.raises(VideoTooShortError, match=f'{count} frames, fewer '
                       'than the 61'):
        CompressedVideoInit(min_frames=61)(dict(filename=path))
    report = check_video(path, min_frames=61)
    counted = '1 frame' if count == 1 else f'{count} frames'
    assert not report['ok'] and f'{counted}, fewer than the 61' in (
        report['reason'])


@pytest.mark.parametrize('name, size, grid', [
    ('odd_size_h264', (98, 62), (16, 25)),
    ('odd_size_mpeg4', (90, 54), (14, 23))])
def test_odd_sizes_keep_exact_rgb_and_a_ceil_grid(files, name, size, grid):
    path = str(files[name])
    with CompressedVideo(path) as video:
        assert (video.width, video.height) == size
        out = video.decode(rgb=range(8), motion=range(1, 8))
    np.testing.assert_array_equal(out.rgb, decode_all_rgb(path))
    assert out.motion.shape == (7, 2) + grid and out.mask.shape == (7,) + grid
    for channel in (0, 1):  # drawn motion (1, 1) px/frame
        assert np.median(out.motion[:, channel][out.mask]) == 1.0


def test_rotation_metadata_is_ignored_frames_come_as_stored(files):
    path = str(files['rotated_90'])
    with av.open(path) as container:
        assert next(container.decode(video=0)).rotation == 90
    with CompressedVideo(path) as video:
        assert (video.width, video.height) == SIZE
        out = video.decode(rgb=range(10), motion=range(1, 10))
    assert out.rgb.shape == (10, 64, 96, 3)  # not turned to 96x64
    np.testing.assert_array_equal(out.rgb, decode_all_rgb(path))
    drawn = panning_frames(SIZE, 10, (2.0, 1.0))
    assert np.abs(out.rgb.astype(int) - drawn).mean() < 6
    # Motion in the stored orientation: the drawn (2, 1), not (1, -2).
    assert np.median(out.motion[:, 0][out.mask]) == 2.0
    assert np.median(out.motion[:, 1][out.mask]) == 1.0


def test_variable_frame_rate_counts_every_frame_in_display_order(files):
    path = str(files['variable_frame_rate'])
    drawn = panning_frames(SIZE, len(VFR_PTS_MS), (2.0, 0.0))
    with CompressedVideo(path) as video:
        assert video.num_frames == len(VFR_PTS_MS)
        assert 'B' in video.index.pict_types
        np.testing.assert_allclose(video.index.timestamps, VFR_PTS_MS / 1000)
        order = np.arange(len(VFR_PTS_MS))[::-1]
        out = video.decode(rgb=order, motion=range(len(VFR_PTS_MS)))
    np.testing.assert_array_equal(out.rgb, decode_all_rgb(path)[order])
    # Frame i is the i-th drawn frame (closest by far among all drawn).
    distances = np.abs(out.rgb[:, None].astype(np.int16)
                       - drawn[None]).mean(axis=(2, 3, 4))
    np.testing.assert_array_equal(distances.argmin(axis=1), order)
    # Motion is per frame, not per second: 2 px whatever the time gap.
    is_p = out.motion_pict_types != 'I'
    medians = [np.median(m[0][k]) for m, k in zip(out.motion[is_p],
                                                  out.mask[is_p])]
    np.testing.assert_allclose(medians, 2.0)


def test_stream_copy_cut_mp4_indexes_the_shown_frames(files):
    path = str(files['stream_copy_cut'])
    shown = decode_all_rgb(path)  # the 27 frames a player shows
    drawn = panning_frames(SIZE, 30, (2.0, 1.0))
    assert len(shown) == 27
    assert np.abs(shown[0].astype(int) - drawn[3]).mean() < 6
    with CompressedVideo(path) as video:
        assert video.num_frames == 27
        # The first GOP starts at the first shown frame; its I-frame is hidden.
        assert video.index.keyframes.tolist() == [0, 7, 17]
        assert video.index.keyframe_shown.tolist() == [False, True, True]
        tail = np.arange(7, 27)
        np.testing.assert_array_equal(video.read_rgb(tail), shown[tail])


def test_stream_copy_cut_mp4_decodes_frames_before_the_next_keyframe(files):
    path = str(files['stream_copy_cut'])
    shown = decode_all_rgb(path)
    with CompressedVideo(path) as video:
        out = video.decode(rgb=range(27), keyframes=[0, 26])
    np.testing.assert_array_equal(out.rgb, shown)
    assert out.keyframe_indices.tolist() == [0, 17]
    # The first GOP's I-frame is the hidden one: the source's frame 0.
    source = decode_all_rgb(str(files['stream_copy_cut'].with_name(
        'gops.mp4')))
    np.testing.assert_array_equal(out.keyframes[0], source[0])
    np.testing.assert_array_equal(shown, source[3:])
    assert check_video(path)['ok']


def test_decode_budget_stops_indexing_decoding_and_checks(files):
    long_video = str(files['long_300_frames'])
    with pytest.raises(DecodeBudgetError, match='indexing took longer'):
        CompressedVideo(long_video, decode_budget_s=1e-9).num_frames
    with CompressedVideo(long_video, decode_budget_s=5.0) as video:
        assert video.num_frames == 300
        video.decode_budget_s = 1e-9
        with pytest.raises(DecodeBudgetError, match='long.mp4.*decoding'):
            video.decode(rgb=[299])
    from mmcmd.datasets.transforms.loading import CompressedVideoInit
    with pytest.raises(DecodeBudgetError):
        CompressedVideoInit(decode_budget_s=1e-9)(dict(filename=long_video))
    report = check_video(long_video, decode_budget_s=1e-9)
    assert not report['ok']
    assert report['reason'].startswith('DecodeBudgetError: indexing')


CMD_PIPELINE = [
    dict(type='CompressedVideoInit'),
    dict(type='CMDSampleFrames', clip_len=4, frame_interval=2, future_gap=1,
         motion_len=2, num_negatives=1, test_mode=True),
    dict(type='CMDDecode'),
    dict(type='CMDCenterCrop', crop_size=32),
    dict(type='PackCMDInputs', with_mask=True),
]


def build_wrapped(folder: Path, bad: Path):
    """A skipping CMDVideoDataset of 3 good videos, ``bad`` second."""
    from mmaction.registry import DATASETS
    from mmengine.registry import DefaultScope

    import mmcmd  # noqa: F401  (registers the transforms and the wrapper)
    names = []
    for number in range(3):
        name = f'good{number}.mp4'
        write_panning_video(str(folder / name), frames=20, gop=10,
                            seed=number, motion=(1.0 + number, 0.0))
        names.append(name)
    names.insert(1, bad.name)
    (folder / bad.name).write_bytes(bad.read_bytes())
    (folder / 'train.txt').write_text(
        ''.join(f'{name} {i}\n' for i, name in enumerate(names)))
    config = dict(
        type='CMDVideoDataset', ann_file=str(folder / 'train.txt'),
        data_prefix=dict(video=str(folder)), pipeline=CMD_PIPELINE,
        skip_bad_videos=dict(seed=3))
    with DefaultScope.overwrite_default_scope('mmaction'):
        return DATASETS.build(config)


@pytest.mark.parametrize('name, error', [
    ('zero_bytes', 'VideoOpenError'), ('truncated_half_mp4', 'VideoOpenError'),
    ('audio_only', 'NoVideoStreamError'), ('hevc', 'NoMotionVectorsError'),
    ('header_only_mkv', 'VideoTooShortError'), ('all_intra', None)])
def test_training_replaces_bad_videos_and_records_them(files, tmp_path, name,
                                                       error):
    wrapped = build_wrapped(tmp_path, files[name])
    bad_path = wrapped.video_path(1)
    assert bad_path.endswith(files[name].name)
    if error is None:
        with pytest.warns(UserWarning, match='every frame is an I-frame'):
            sample = wrapped[1]
    else:
        sample = wrapped[1]
    skipped = sample['data_samples'].metainfo['skipped_videos']
    if error is None:  # all-intra trains: zero motion, mask False
        assert skipped == []
        assert not sample['inputs']['motion'].any()
        assert not sample['inputs']['motion_mask'].any()
        assert sample['inputs']['imgs'].shape == (3, 4, 32, 32)
        return
    # The replacement is the first good sample of the seeded draws.
    attempt = 0
    while wrapped.replacement(1, attempt) == 1:
        attempt += 1
    replacement = wrapped.replacement(1, attempt)
    assert [path for path, _ in skipped] == [bad_path] * (attempt + 1)
    assert all(reason.startswith(f'{error}: ') and bad_path in reason
               for _, reason in skipped)
    expected = wrapped[replacement]
    for key in ('imgs', 'keyframe', 'motion', 'negative_motion'):
        assert np.array_equal(sample['inputs'][key].numpy(),
                              expected['inputs'][key].numpy())
    assert sample['data_samples'].metainfo['filename'] == (
        wrapped.video_path(replacement))
    assert wrapped[0]['data_samples'].metainfo['skipped_videos'] == []
