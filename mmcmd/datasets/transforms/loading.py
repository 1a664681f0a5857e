"""Open, sample and decode a video for CMD in one pass over its bytes.

``CompressedVideoInit`` -> ``CMDSampleFrames`` -> ``CMDDecode``: the clip,
its future motion window, the hard-negative motion windows and the keyframe
all come out of ONE :meth:`mmcmd.codec.CompressedVideo.decode` call.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from mmcmd.codec import CompressedVideo, VideoTooShortError
from mmcmd.codec.motion import check_precision
from mmcmd.codec.stream_info import warn_inexact_motion

from .sampling import clip_offsets, clip_span, sample_start


@TRANSFORMS.register_module()
class CompressedVideoInit(BaseTransform):
    """Open ``results['filename']`` and index it.

    Codec errors propagate (a dataset wrapper such as ``SkipBadVideos``
    skips the sample). With ``check_motion``, a file whose motion is
    approximate or absent (:func:`mmcmd.codec.motion_verdict`: several
    reference frames, B-pyramid, MPEG-4 B-frames, no vectors) gets one
    :class:`mmcmd.codec.InexactMotionWarning` per process naming the file,
    the reason and the re-encode command; the verdict is read once per
    file from the open stream's headers.

    Required Keys:

        - filename

    Added Keys:

        - video_reader (:class:`mmcmd.codec.CompressedVideo`, closed by
          :class:`CMDDecode` or :class:`CompressedVideoClose`)
        - total_frames

    Modified Keys:

        - none

    Args:
        decode_budget_s: time limit of indexing and of each decode (seconds).
        min_frames: raise VideoTooShortError below this many frames.
        check_motion: warn once per file whose motion is not exact. Off by
            default (pipelines that read RGB only need no motion); the CMD
            pretraining pipelines turn it on.
    """

    def __init__(self, decode_budget_s: Optional[float] = 60.0,
                 min_frames: int = 1, check_motion: bool = False) -> None:
        self.decode_budget_s = decode_budget_s
        self.min_frames = min_frames
        self.check_motion = check_motion

    def transform(self, results: dict) -> dict:
        """Open the file and count its frames."""
        video = CompressedVideo(results['filename'], self.decode_budget_s)
        if video.num_frames < self.min_frames:
            video.close()
            raise VideoTooShortError(
                video.path, f'{video.num_frames} frames, fewer than the '
                f'{self.min_frames} this pipeline needs')
        if self.check_motion:
            warn_inexact_motion(video)
        results['video_reader'] = video
        results['total_frames'] = video.num_frames
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(decode_budget_s='
                f'{self.decode_budget_s}, min_frames={self.min_frames}, '
                f'check_motion={self.check_motion})')


@TRANSFORMS.register_module()
class CMDSampleFrames(BaseTransform):
    """Choose the clip, future motion window, negatives and keyframe.

    The clip has ``clip_len`` frames ``frame_interval`` apart (span
    ``(clip_len - 1) * frame_interval + 1``). The future window is
    ``motion_len`` consecutive frames starting ``future_gap + 1`` frames
    after the last clip frame. ``num_negatives`` windows of ``motion_len``
    frames start anywhere not overlapping the future window.

    The keyframe comes from the window ``[first clip frame -
    keyframe_margin, last clip frame + keyframe_margin]``:

    - ``keyframe_rule='reference'`` (default; the reference CMD code):
      uniformly one of the I-frames (GOP starts) lying inside the window.
      Fallback when none does (GOPs longer than the window): the nearest
      I-frame before the window, i.e. the I-frame of the GOP holding the
      whole window, which is also what ``'gop'`` gives then. Test mode
      takes the inside I-frame nearest the clip centre.
    - ``keyframe_rule='gop'``: the I-frame of the GOP holding a random frame
      of the window (test mode: the clip centre). Where I-frames lie inside
      the window it may still return the one before the window, up to a
      GOP length before the clip.

    'reference' is the default because it keeps the keyframe inside the
    clip's neighbourhood whenever the stream allows (the context the method
    means), and falls back to the same frame as 'gop' when it cannot.
    Readers without a GOP index (:class:`ArrayVideo`) and samples without a
    reader use the 'gop' rule (their keyframe is the drawn frame itself).

    Training draws the start uniformly so that clip and future window fit;
    test mode centres them and spreads the negatives evenly. Videos shorter
    than clip + gap + window loop (indices modulo the frame count, as
    mmaction2's ``SampleFrames`` with ``out_of_bound_opt='loop'``); with no
    room for a non-overlapping negative, negatives start at any of the
    other starts (they then overlap the future window).
    ``CMDVideoDataset(short_videos='drop')`` removes such videos before
    sampling, as the reference does; :attr:`span` is the length it needs.

    Required Keys:

        - total_frames
        - video_reader (optional: without it the keyframe is the chosen
          frame itself, not the I-frame of its GOP)

    Added Keys:

        - frame_inds: int64 (clip_len,)
        - motion_inds: int64 (motion_len,)
        - negative_motion_inds: int64 (num_negatives, motion_len)
        - keyframe_ind
        - clip_len
        - frame_interval
        - num_clips

    Modified Keys:

        - none

    Args:
        clip_len: frames of the clip.
        frame_interval: distance between clip frames (frames).
        num_clips: must be 1 (one clip per video).
        future_gap: frames skipped between the last clip frame and the
            future motion window.
        motion_len: frames of the future (and each negative) motion window;
            0 samples no motion.
        num_negatives: number of hard-negative motion windows.
        keyframe_margin: frames around the clip the keyframe may come from.
        keyframe_rule: ``'reference'`` or ``'gop'``, see above.
        test_mode: deterministic, centred sampling.
    """

    def __init__(self, clip_len: int = 16, frame_interval: int = 4,
                 num_clips: int = 1, future_gap: int = 2,
                 motion_len: int = 8, num_negatives: int = 3,
                 keyframe_margin: int = 5, keyframe_rule: str = 'reference',
                 test_mode: bool = False) -> None:
        if num_clips != 1:
            raise ValueError('CMDSampleFrames samples one clip per video '
                             '(num_clips=1); use mmaction2 SampleFrames for '
                             'multi-clip testing')
        if clip_len < 1 or frame_interval < 1 or motion_len < 0:
            raise ValueError('clip_len and frame_interval must be >= 1 and '
                             'motion_len >= 0')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.num_clips = num_clips
        self.future_gap = future_gap
        self.motion_len = motion_len
        self.num_negatives = num_negatives
        if keyframe_rule not in ('reference', 'gop'):
            raise ValueError(f"keyframe_rule must be 'reference' or 'gop', "
                             f'got {keyframe_rule!r}')
        self.keyframe_margin = keyframe_margin
        self.keyframe_rule = keyframe_rule
        self.test_mode = test_mode

    @property
    def span(self) -> int:
        """Frames from the first clip frame to the end of the future window."""
        return clip_span(self.clip_len, self.frame_interval) + (
            self.future_gap + self.motion_len if self.motion_len else 0)

    def _negative_starts(self, num_frames: int, future: int) -> List[int]:
        """Starts of negative windows not overlapping [future, future+len)."""
        if not self.num_negatives or not self.motion_len:
            return []
        starts = np.arange(max(num_frames - self.motion_len + 1, 1))
        valid = starts[np.abs(starts - future) >= self.motion_len]
        if valid.size == 0:  # too short: any other start (overlapping)
            valid = starts[starts != future] if starts.size > 1 else starts
        if self.test_mode:
            picks = np.linspace(0, valid.size - 1, self.num_negatives)
            return valid[np.round(picks).astype(int)].tolist()
        replace = valid.size < self.num_negatives
        return np.random.choice(valid, self.num_negatives,
                                replace=replace).tolist()

    def keyframe_window(self, first: int, last: int,
                        num_frames: int) -> Tuple[int, int]:
        """Frames ``[low, high]`` the keyframe may come from (in range)."""
        return (max(first - self.keyframe_margin, 0),
                min(last + self.keyframe_margin, num_frames - 1))

    def _keyframe(self, reader, first: int, last: int,
                  num_frames: int) -> int:
        """Display index of the keyframe for a clip ``first``..``last``."""
        low, high = self.keyframe_window(first, last, num_frames)
        index = getattr(reader, 'index', None)
        if self.keyframe_rule == 'reference' and index is not None:
            iframes = np.asarray(index.keyframes, np.int64)
            inside = iframes[(iframes >= low) & (iframes <= high)]
            if inside.size and self.test_mode:
                centre = (first + last) / 2
                return int(inside[np.argmin(np.abs(inside - centre))])
            if inside.size:
                return int(inside[np.random.randint(inside.size)])
            return int(reader.keyframe_for(min(low, num_frames - 1)))
        if self.test_mode or high < low:
            source = min((first + last) // 2, num_frames - 1)
        else:
            source = int(np.random.randint(low, high + 1))
        return int(reader.keyframe_for(source)) if reader is not None \
            else source

    def transform(self, results: dict) -> dict:
        """Write the sampled indices into ``results``."""
        num_frames = int(results['total_frames'])
        start = sample_start(num_frames, self.span, self.test_mode)
        clip = start + clip_offsets(self.clip_len, self.frame_interval)
        last = int(clip[-1])
        future = last + self.future_gap + 1
        motion = future + np.arange(self.motion_len)
        negatives = [s + np.arange(self.motion_len)
                     for s in self._negative_starts(num_frames,
                                                    future % num_frames)]
        results['frame_inds'] = clip % num_frames
        results['motion_inds'] = motion % num_frames
        results['negative_motion_inds'] = (
            np.stack(negatives) % num_frames if negatives else
            np.zeros((0, self.motion_len), np.int64))
        results['keyframe_ind'] = self._keyframe(
            results.get('video_reader'), int(clip[0]), last, num_frames)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, future_gap='
                f'{self.future_gap}, motion_len={self.motion_len}, '
                f'num_negatives={self.num_negatives}, keyframe_margin='
                f'{self.keyframe_margin}, keyframe_rule='
                f'{self.keyframe_rule!r}, test_mode={self.test_mode})')


@TRANSFORMS.register_module()
class CMDDecode(BaseTransform):
    """Decode clip, motion windows and keyframe with one ``decode()`` call.

    Motion follows the codec's contract (px per frame, forward in time);
    h and w are ceil(H/4), ceil(W/4). Closes the video unless
    ``close=False``.

    Required Keys:

        - video_reader
        - frame_inds
        - motion_inds (optional)
        - negative_motion_inds (optional)
        - keyframe_ind (optional: no keyframe without it)

    Added Keys:

        - imgs: uint8 (T, H, W, 3) RGB
        - motion: float32 (T_m, 2, h, w), the future window
        - motion_mask: bool (T_m, h, w)
        - negative_motion: float32 (N, T_m, 2, h, w)
        - negative_motion_mask: bool (N, T_m, h, w)
        - keyframe: uint8 (H, W, 3) RGB (with ``keyframe_ind``)
        - original_shape: (H, W)
        - img_shape: (H, W)
        - motion_cell: image pixels per motion cell (4.0)

    Modified Keys:

        - video_reader (None once closed)

    Motion precision: ``'exact'`` (default) keeps the codec's sub-pixel
    vectors (motion / scale: quarter-pel H.264, half-pel MPEG-4);
    ``'reference'`` gives the whole-pixel values of the CMD reference's
    coviar loader, which reads FFmpeg's exported ``dst - src``
    (coviar_loader.c:94-97) where FFmpeg computed ``src = dst + motion /
    scale`` by integer division: each vector truncated toward zero, so a
    half-pel vector becomes 0. It applies here, per coded vector and in
    source-frame pixels, before any crop, resize or flip rescales the
    field (so 1 px stays 1 source px, as in the reference, whose later
    steps do not rescale).

    Args:
        raw_motion: skip the per-frame normalisation of motion (vectors in
            pixels to the reference frame, however far it is).
        close: close the video after decoding (False when a later step,
            e.g. another view of :class:`MultiView`, still decodes).
        motion_precision: ``'exact'`` or ``'reference'``, see above.
    """

    def __init__(self, raw_motion: bool = False, close: bool = True,
                 motion_precision: str = 'exact') -> None:
        self.raw_motion = raw_motion
        self.close = close
        self.motion_precision = check_precision(motion_precision)

    def transform(self, results: dict) -> dict:
        """Run the single decode and store its outputs."""
        video: CompressedVideo = results['video_reader']
        motion = np.asarray(results.get('motion_inds', ()), np.int64)
        negatives = np.asarray(results.get('negative_motion_inds',
                                           np.zeros((0, motion.size))),
                               np.int64)
        # One decode of every frame some window needs; each window then
        # picks its own frames, so the negatives never join the positives.
        frames = np.union1d(motion, negatives)
        has_key = 'keyframe_ind' in results
        try:
            out = video.decode(
                rgb=results['frame_inds'], motion=frames,
                keyframes=[results['keyframe_ind']] if has_key else [],
                raw_motion=self.raw_motion,
                motion_precision=self.motion_precision)
        finally:
            if self.close:
                video.close()
                results['video_reader'] = None
        results['imgs'] = out.rgb
        rows = np.searchsorted(frames, motion)
        results['motion'] = out.motion[rows]
        results['motion_mask'] = out.mask[rows]
        rows = np.searchsorted(frames, negatives)  # (N, T_m)
        results['negative_motion'] = out.motion[rows]
        results['negative_motion_mask'] = out.mask[rows]
        if has_key:
            results['keyframe'] = out.keyframes[0]
        results['original_shape'] = out.rgb.shape[1:3]
        results['img_shape'] = out.rgb.shape[1:3]
        results['motion_cell'] = 4.0
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(raw_motion={self.raw_motion}, '
                f'close={self.close}, motion_precision='
                f'{self.motion_precision!r})')


@TRANSFORMS.register_module()
class CompressedVideoClose(BaseTransform):
    """Close ``results['video_reader']`` (for pipelines that keep it open).

    Required Keys:

        - video_reader (optional)

    Added Keys:

        - none

    Modified Keys:

        - video_reader (None)
    """

    def transform(self, results: dict) -> dict:
        """Close the reader and drop it from ``results``."""
        video = results.get('video_reader')
        if video is not None:
            video.close()
        results['video_reader'] = None
        return results
