"""Compressed-domain video reader: one open file, one-pass decode of spans.

:class:`CompressedVideo` opens a file once, indexes it from packets, and
:meth:`CompressedVideo.decode` returns RGB frames, motion-vector fields and
keyframes for any set of frame indices in as few sequential passes as the
GOP structure allows (seek to the keyframe before each span, decode
forward). Decoded frames are placed by timestamp and by their count from the
first keyframe after the seek, never by counting from the file start.

Frame indices count the frames a player shows. Frames a container hides
(an edit list starting inside a GOP) are decoded where the shown frames
need them but never counted; internally every decodable frame has a "full"
index, and ``_shown`` maps shown indices to full ones.
"""
from __future__ import annotations

import itertools
import os
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .decoders import (
    MOTION_VECTOR_CODECS,
    PIXEL_FREE_MOTION_CODECS,
    SKIP_AHEAD_MOTION_CODECS,
    ZERO_B_FRAME_CODECS,
    configure_decoder,
    decode_packet,
    motion_only_decoder,
    motion_vector_bytes,
    open_container,
    pict_type_char,
)
from .errors import (
    REENCODE_HINT,
    FrameIndexError,
    NoMotionVectorsError,
    NoVideoStreamError,
    VideoDecodeError,
    VideoOpenError,
    VideoTooShortError,
)
from .index import VideoIndex, build_index, index_from_frames, shown_view
from .motion import check_precision, motion_fields
from .spans import Deadline, DecodedSpans, plan_passes

_WARNED: Set[Tuple[str, str]] = set()

#: streams up to this many bytes keep their packets in memory after
#: indexing: decode passes then start at a list position instead of
#: seeking and demuxing the file again.
PACKET_CACHE_BYTES = 64 << 20

Indices = Union[Sequence[int], np.ndarray]


class CompressedVideo:
    """An open video file with a frame index and span decoding.

    ``decode_budget_s`` bounds indexing and each :meth:`decode` call
    (seconds, None for no bound). ``threads`` is the decoder thread count
    (1 = single-threaded, 0 = FFmpeg's automatic choice).
    """

    def __init__(self, path: Union[str, os.PathLike],
                 decode_budget_s: Optional[float] = 60.0,
                 threads: int = 1) -> None:
        self.path = os.fspath(path)
        self.decode_budget_s = decode_budget_s
        self._index: Optional[VideoIndex] = None
        self._full: Optional[VideoIndex] = None
        self._shown = np.zeros(0, np.int64)
        self._pts_to_frame: Dict[int, int] = {}
        self._sequential = False
        self._motion_decoder: Optional[av.CodecContext] = None
        #: the stream's packets in file order (small files) and the list
        #: position of each keyframe packet by its decode timestamp.
        self._packets: Optional[List[av.Packet]] = None
        self._packet_at: Dict[int, int] = {}
        #: list position of every cached packet by its timestamp.
        self._packet_pos: Dict[int, int] = {}
        self._b_frames: Optional[bool] = None
        #: one YUV -> RGB converter for every frame of this video: its
        #: swscale context is set up once (``frame.to_ndarray`` builds a
        #: new one per frame, about half of the conversion's time at
        #: 170x128); same arithmetic, so the same pixels.
        self._rgb_converter = VideoReformatter()
        if not os.path.isfile(self.path):
            raise VideoOpenError(self.path, 'no such file')
        if os.path.getsize(self.path) == 0:
            raise VideoOpenError(self.path, 'the file is empty (0 bytes)')
        self._container = open_container(self.path)
        streams = self._container.streams.video
        if not streams or streams[0].codec_context is None:
            self._container.close()
            raise NoVideoStreamError(
                self.path, 'the container holds no decodable video stream')
        self._stream = streams[0]
        context = self._stream.codec_context
        #: the stream's codec ('h264', 'av1', ...) and the FFmpeg decoder
        #: reading it ('h264', 'libdav1d', ...).
        self.codec_name: str = context.codec.canonical_name
        self.decoder_name: str = context.name
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps: float = float(rate) if rate else 0.0
        self._time_base = float(self._stream.time_base or 0.0)
        self._zero_b = self.decoder_name in ZERO_B_FRAME_CODECS
        self._threads = int(threads)
        self._configure_decoder()
        self.width: int = int(context.width)
        self.height: int = int(context.height)
        self._rewind = False
        if not self.width:  # raw elementary streams: size known after decoding
            self._probe_size()

    def _configure_decoder(self) -> None:
        """Motion-vector export and thread count of the stream's decoder."""
        configure_decoder(self._stream.codec_context, self.has_motion_vectors,
                          self._threads)

    def _reopen(self) -> av.container.InputContainer:
        """Open the file afresh: reading starts at its first packet.

        Used where seeking cannot reach the head (an MKV whose first
        keyframe lost its cue); the file was opened once already.
        """
        self._open_container().close()
        self._container = None
        self._container = open_container(self.path)
        self._stream = self._container.streams.video[0]
        self._configure_decoder()
        return self._container

    def _probe_size(self) -> None:
        """Set width/height from the first decoded frame."""
        self._rewind = True
        try:
            frame = next(iter(self._container.decode(self._stream)), None)
        except av.error.FFmpegError:
            frame = None
        if frame is None:
            self.close()
            raise NoVideoStreamError(
                self.path, 'the video stream has no decodable frame')
        self.width, self.height = int(frame.width), int(frame.height)

    # ------------------------------------------------------------ basics
    @property
    def has_motion_vectors(self) -> bool:
        """True when the stream's decoder exports motion vectors."""
        return self.decoder_name in MOTION_VECTOR_CODECS

    @property
    def index(self) -> VideoIndex:
        """The frame index, built once on first use."""
        if self._index is None:
            self._index = self._build_index()
        return self._index

    @property
    def _full_index(self) -> VideoIndex:
        """Index of every decodable frame, hidden ones included."""
        self.index  # noqa: B018  (builds both indices)
        return self._full  # type: ignore[return-value]

    @property
    def num_frames(self) -> int:
        """Number of frames, counted from intact packets (or by decoding)."""
        return self.index.num_frames

    def keyframe_for(self, frame_index: int) -> int:
        """Display index of the first frame of the GOP of ``frame_index``.

        That is the GOP's I-frame, except where an edit list hides the
        I-frame or the damaged head has none (``index.keyframe_shown``).
        Never larger than ``frame_index``.
        """
        self._check_indices([frame_index])
        return self.index.keyframe_for(frame_index)

    def close(self) -> None:
        """Close the file; the object is unusable afterwards."""
        container = getattr(self, '_container', None)
        if container is not None:
            container.close()
            self._container = None

    def _open_container(self) -> av.container.InputContainer:
        """The open container; VideoOpenError after :meth:`close`."""
        if self._container is None:
            raise VideoOpenError(self.path, 'the video was closed')
        return self._container

    def __enter__(self) -> 'CompressedVideo':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f'CompressedVideo({self.path!r}, codec={self.codec_name}, '
                f'{self.width}x{self.height}, {self.fps:g} fps)')

    # ------------------------------------------------------------ index
    def _build_index(self) -> VideoIndex:
        """Index from packet timestamps; decode everything if they lack pts."""
        deadline = Deadline(self.path, self.decode_budget_s, 'indexing')
        pts: List[int] = []
        dts: List[int] = []
        keys: List[bool] = []
        shown: List[bool] = []
        packets: List[av.Packet] = []
        cached = 0
        container = self._open_container()
        if self._rewind:
            container = self._reopen()
        try:
            for number, packet in enumerate(container.demux(self._stream)):
                if number % 256 == 255:
                    deadline.check()
                if packet.size == 0 or packet.is_corrupt:
                    continue  # flush or damaged packets
                if packet.pts is None:
                    self._sequential = True
                    break
                pts.append(packet.pts)
                dts.append(packet.pts if packet.dts is None else packet.dts)
                keys.append(packet.is_keyframe)
                shown.append(not packet.is_discard)  # edit-list-hidden
                if cached <= PACKET_CACHE_BYTES:
                    cached += packet.size
                    if packet.is_keyframe:
                        self._packet_at.setdefault(dts[-1], len(packets))
                    self._packet_pos.setdefault(pts[-1], len(packets))
                    packets.append(packet)
        except av.error.FFmpegError:
            pass  # a damaged tail: index the packets read so far
        if cached <= PACKET_CACHE_BYTES and not self._sequential:
            self._packets = packets
        if self._sequential:
            self._full = self._index_by_decoding(deadline)
            index, self._shown = self._full, np.arange(self._full.num_frames)
        else:
            start = self._stream.start_time
            shown_pts = [p for p, s in zip(pts, shown) if s]
            self._full = build_index(pts, dts, keys, self._time_base,
                                     start if start is not None else
                                     min(shown_pts, default=0))
            self._pts_to_frame = {int(p): i
                                  for i, p in enumerate(self._full.pts)}
            mask = np.asarray(shown, bool)[np.argsort(pts, kind='stable')]
            index, self._shown = ((self._full, np.arange(mask.shape[0]))
                                  if mask.all() else
                                  shown_view(self._full, mask))
        if index.num_frames == 0:
            raise VideoTooShortError(self.path, 'the video stream has no '
                                     'frames; the file is empty or damaged')
        return index

    def _index_by_decoding(self, deadline: Deadline) -> VideoIndex:
        """Index by decoding every frame (packets without timestamps)."""
        types: List[str] = []
        keys: List[bool] = []
        for _, frame in self._numbered_frames(None, deadline):
            types.append(pict_type_char(frame.pict_type))
            keys.append(bool(frame.key_frame))
        fps = self.fps or 25.0
        return index_from_frames(types, keys, np.arange(len(types)) / fps)

    # ------------------------------------------------------------ decode
    def decode(self, rgb: Indices = (), motion: Indices = (),
               keyframes: Indices = (), raw_motion: bool = False,
               motion_precision: str = 'exact') -> DecodedSpans:
        """Decode RGB frames, motion fields and GOP keyframes in one go.

        ``rgb`` and ``motion`` are display-order frame indices; for each
        index in ``keyframes`` the I-frame of its GOP is returned (also when
        an edit list hides it; see :meth:`keyframe_for`). Outputs keep the
        asked order (repeats allowed). ``raw_motion`` skips the per-frame
        normalisation of motion vectors. ``motion_precision``: ``'exact'``
        (sub-pixel vectors as coded) or ``'reference'`` (whole pixels,
        truncated toward zero as FFmpeg's exported ``src``; see
        :func:`mmcmd.codec.motion.coded_displacement`).
        """
        check_precision(motion_precision)
        index, full, shown = self.index, self._full_index, self._shown
        rgb_idx = shown[self._check_indices(rgb)]
        motion_idx = shown[self._check_indices(motion)]
        asked_keys = self._check_indices(keyframes)
        key_idx = full.gop_start[shown[asked_keys]]
        if motion_idx.size:
            self._require_motion_vectors()
        need_rgb = set(rgb_idx.tolist()) | set(key_idx.tolist())
        need_motion = set(motion_idx.tolist())
        images: Dict[int, np.ndarray] = {}
        vectors: Dict[int, Tuple[Optional[np.ndarray], str]] = {}
        deadline = Deadline(self.path, self.decode_budget_s, 'decoding')
        plan = self._plan(sorted(need_rgb | need_motion))
        for start, frames in plan:
            self._run_pass(start, frames, need_rgb, need_motion, images,
                           vectors, deadline)
        motion, mask, types = self._fields(motion_idx, vectors, raw_motion,
                                           motion_precision)

        def stack_rgb(order: np.ndarray) -> np.ndarray:
            if not order.size:
                return np.zeros((0, self.height, self.width, 3), np.uint8)
            return np.stack([images[i] for i in order.tolist()])

        return DecodedSpans(rgb=stack_rgb(rgb_idx), motion=motion, mask=mask,
                            keyframes=stack_rgb(key_idx),
                            motion_pict_types=types,
                            keyframe_indices=index.gop_start[asked_keys],
                            passes=len(plan))

    def read_rgb(self, indices: Indices) -> np.ndarray:
        """RGB frames uint8 (N, H, W, 3) at display indices ``indices``."""
        return self.decode(rgb=indices).rgb

    def read_motion(self, indices: Indices, raw: bool = False,
                    precision: str = 'exact'
                    ) -> Tuple[np.ndarray, np.ndarray]:
        """Motion fields float32 (M, 2, h, w) and masks bool (M, h, w)."""
        out = self.decode(motion=indices, raw_motion=raw,
                          motion_precision=precision)
        return out.motion, out.mask

    def _check_indices(self, indices: Indices) -> np.ndarray:
        """Indices as int64 array; FrameIndexError when out of range."""
        array = np.asarray(indices, dtype=np.int64).reshape(-1)
        if array.size and (array.min() < 0 or array.max() >= self.num_frames):
            bad = array[(array < 0) | (array >= self.num_frames)][0]
            raise FrameIndexError(
                self.path, f'frame {bad} is outside [0, {self.num_frames}) '
                '(indices count frames in display order from 0)')
        return array

    def _require_motion_vectors(self) -> None:
        """Raise for codecs without motion vectors; warn for all-intra."""
        if not self.has_motion_vectors:
            raise NoMotionVectorsError(
                self.path, f'the {self.codec_name} decoder exports no motion '
                f'vectors; {REENCODE_HINT}')
        if self.index.all_intra:
            self._warn_once('all_intra', 'every frame is an I-frame, so its '
                            'motion is all zero with mask False')
        elif (self.codec_name in ZERO_B_FRAME_CODECS
              and (self.index.pict_types == 'B').any()):
            self._warn_once('zero_b', f'{self.codec_name} exports no usable '
                            'B-frame vectors, so B-frames get zero motion '
                            'with mask False')

    def _warn_once(self, kind: str, message: str) -> None:
        """warnings.warn ``message`` once per file and kind."""
        if (self.path, kind) not in _WARNED:
            _WARNED.add((self.path, kind))
            warnings.warn(f'{self.path}: {message}; {REENCODE_HINT}',
                          stacklevel=4)

    def _plan(self, frames: List[int]) -> List[Tuple[int, List[int]]]:
        """Group sorted frames into passes: (keyframe to start at, frames)."""
        if self._sequential:
            return [(0, frames)] if frames else []
        return plan_passes(frames, self._full_index.gop_start)

    def _run_pass(self, key: int, frames: List[int], need_rgb: Set[int],
                  need_motion: Set[int], images: Dict, vectors: Dict,
                  deadline: Deadline) -> None:
        """Seek to keyframe ``key``; decode until ``frames`` are done."""
        pending = set(frames)
        last = frames[-1]
        motion_only = pending.isdisjoint(need_rgb)
        # Raw streams are read from the start; a seek that lands past the
        # span (no seek point at the head) is retried from the start.
        for start in ((None,) if self._sequential else (key, None)):
            first = (frames[0] if start is not None and motion_only
                     and not self._has_b_frames else None)
            for number, frame in self._numbered_frames(start, deadline,
                                                       motion_only, first):
                if number > last:
                    break  # the seek landed past the span: go again
                if number not in pending:
                    continue
                pending.discard(number)
                if number in need_rgb:
                    images[number] = self._to_rgb(frame)
                if number in need_motion:
                    vectors[number] = self._vectors_of(frame)
                    if first is not None and vectors[number][1] == 'B':
                        # B-frames the index did not show: decode the pass
                        # again without skipping frames.
                        self._b_frames = True
                        return self._run_pass(key, frames, need_rgb,
                                              need_motion, images, vectors,
                                              deadline)
                if not pending:
                    return
        raise VideoDecodeError(
            self.path, f'frames {sorted(pending)[:8]} could not be decoded '
            '(damaged or cut-short data); re-encode or drop the file')

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """uint8 (H, W, 3) RGB of a decoded frame, as ``frame.to_ndarray(
        format='rgb24')`` gives it, with this video's converter and thread
        count (only frames whose pixels are returned are converted)."""
        return self._rgb_converter.reformat(
            frame, format='rgb24', threads=self._threads).to_ndarray()

    def _vectors_of(self, frame: av.VideoFrame
                    ) -> Tuple[Optional[bytes], str]:
        """(motion-vector bytes or None, picture type) of a decoded frame.

        Bytes, not an array viewing the side data: a view would keep the
        frame alive, and the decoder would allocate a new picture for every
        frame (about 10% of the decoding time).
        """
        kind = pict_type_char(frame.pict_type)
        if kind == 'B' and self._zero_b:
            return None, kind
        return motion_vector_bytes(frame), kind

    def _numbered_frames(self, key: Optional[int], deadline: Deadline,
                         motion_only: bool = False,
                         first: Optional[int] = None
                         ) -> Iterator[Tuple[int, av.VideoFrame]]:
        """(display index, frame) from keyframe ``key`` (None: stream start).

        ``first``: the first frame a motion-only pass needs (see
        :meth:`_frames_from`; frames between the keyframe and it may be
        left out).

        Output is in display order, so frames are counted from the first
        keyframe out of the decoder; timestamps place that keyframe and
        correct the count where they agree with it. Counting from the
        keyframe survives demuxers that stamp the first frame after a seek
        wrongly (MPEG program streams); timestamps survive dropped frames.
        """
        number = -1
        index = None if self._sequential else self._full_index
        # A GOP without an I-frame (damaged head): trust the timestamps.
        keyless = index is not None and key is not None and (
            index.pict_types[key] != 'I')
        for frame in self._frames_from(key, deadline, motion_only, first):
            mapped = self._pts_to_frame.get(frame.pts)
            if self._sequential:
                number += 1
            elif number < 0:
                if not (frame.key_frame or
                        pict_type_char(frame.pict_type) == 'I'):
                    continue  # leading pictures of an open GOP
                if mapped is not None and (index.pict_types[mapped] == 'I'
                                           or keyless):
                    number = mapped
                else:
                    number = int(index.keyframes[0]) if key is None else key
            elif mapped is not None and mapped > number:
                number = mapped
            elif frame.pts is None or mapped is not None:
                number += 1
            else:
                continue  # a frame left out of the index (damaged packet)
            yield number, frame

    def _frames_from(self, key: Optional[int], deadline: Deadline,
                     motion_only: bool = False, first: Optional[int] = None
                     ) -> Iterator[av.VideoFrame]:
        """Decoded frames after seeking to keyframe ``key`` (None: start).

        ``motion_only`` frames may come from a decoder that skips pixel
        work the motion vectors do not need (their pixels are not exact).
        Such a pass over cached packets of a stream without B-frames
        (:data:`SKIP_AHEAD_MOTION_CODECS`) decodes the keyframe and then
        jumps to frame ``first``: the frames in between are neither needed
        nor decoded.
        """
        pixel_free = (motion_only
                      and self.decoder_name in PIXEL_FREE_MOTION_CODECS)
        packets = self._cached_packets(key, first if pixel_free else None)
        if packets is None:
            if key is None:
                self._reopen()
            else:
                self._seek(self._open_container(), key)
            packets = self._container.demux(self._stream)
        decoder = self._stream.codec_context
        if pixel_free:
            decoder = self._motion_only_decoder()
        decoder.flush_buffers()  # a new pass: forget earlier frames
        try:
            for packet in packets:
                deadline.check()
                for frame in decode_packet(packet, decoder):
                    if (frame.width, frame.height) != (self.width,
                                                       self.height):
                        raise VideoDecodeError(
                            self.path, 'the frame size changes mid-stream; '
                            + REENCODE_HINT)
                    yield frame
        except av.error.FFmpegError as error:
            raise VideoDecodeError(
                self.path, f'decoding failed ({error}); the file is damaged '
                '- re-encode or drop it') from None

    def _cached_packets(self, key: Optional[int], first: Optional[int] = None
                        ) -> Optional[Iterator[Optional[av.Packet]]]:
        """Packets from keyframe ``key`` on (None: the first), then a flush.

        With ``first`` (a motion-only pass) and a stream whose decoder
        allows it, the keyframe's packet and then those from frame
        ``first`` on. None where the packets are not in memory (large or
        unindexed streams) or the keyframe has no packet position: then
        seek.
        """
        if self._packets is None:
            return None
        start = 0
        if key is not None:
            gop, seek_ts = self._gop_of(key)
            if gop > 0:
                found = self._packet_at.get(seek_ts)
                if found is None:
                    return None
                start = found
        resume = self._skip_ahead_position(key, first)
        if resume is not None and resume > start + 1:
            return itertools.chain(
                itertools.islice(self._packets, start, start + 1),
                itertools.islice(self._packets, resume, None), (None,))
        return itertools.chain(itertools.islice(self._packets, start, None),
                               (None,))

    def _skip_ahead_position(self, key: Optional[int], first: Optional[int]
                             ) -> Optional[int]:
        """List position of frame ``first``'s packet where a motion-only
        pass may jump there from keyframe ``key``, else None.

        H.264 predicts P-frame vectors from their spatial neighbours only,
        and parses them whatever the reference pictures hold; so without
        B-frames (whose direct modes read the reference's vectors) the
        frames between an I-frame and ``first`` can be left out and the
        vectors come out bit-identical (tests/codec/test_cmd_sample_same).
        """
        if (first is None or key is None
                or self.decoder_name not in SKIP_AHEAD_MOTION_CODECS):
            return None
        full = self._full_index
        if full.pict_types[key] != 'I' or self._has_b_frames:
            return None
        return self._packet_pos.get(int(full.pts[first]))

    @property
    def _has_b_frames(self) -> bool:
        """True when the index holds a B-frame (counted once)."""
        if self._b_frames is None:
            self._b_frames = bool((self._full_index.pict_types == 'B').any())
        return self._b_frames

    def _motion_only_decoder(self) -> av.CodecContext:
        """The stream's second decoder, for passes that need motion only."""
        if self._motion_decoder is None:
            self._motion_decoder = motion_only_decoder(
                self._stream.codec_context, self._threads)
        return self._motion_decoder

    def _gop_of(self, key: int) -> Tuple[int, int]:
        """(GOP number, decode timestamp of its keyframe) of keyframe
        ``key`` (full index)."""
        index = self._full_index
        gop = int(np.searchsorted(index.keyframes, key))
        return gop, int(index.seek_ts[gop])

    def _seek(self, container: av.container.InputContainer,
              key: int) -> None:
        """Seek to the GOP starting at frame ``key`` (full index).

        The first GOP is reached by seeking to the first packet whatever its
        key flag: a file whose head lost its keyframe (or its seek index
        entry) has no seek point there.
        """
        try:
            gop, seek_ts = self._gop_of(key)
            container.seek(seek_ts, stream=self._stream, backward=True,
                           any_frame=gop == 0)
        except av.error.FFmpegError as error:
            raise VideoDecodeError(
                self.path, f'cannot seek in the file ({error}); remux or '
                f'{REENCODE_HINT}') from None

    def _fields(self, motion_idx: np.ndarray, vectors: Dict, raw: bool,
                precision: str = 'exact'
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fields, masks and picture types of the asked motion frames."""
        unique, order = np.unique(motion_idx, return_inverse=True)
        picked = [vectors[i] for i in unique.tolist()]
        if raw:
            past, future = 1.0, 1.0
        else:
            past = self._full_index.past_distance[unique]
            future = self._full_index.future_distance[unique]
        field, mask = motion_fields([p[0] for p in picked], self.height,
                                    self.width, past, future, precision)
        types = np.array([p[1] for p in picked], '<U1')
        if not np.array_equal(unique, motion_idx):  # repeats or another order
            field, mask, types = field[order], mask[order], types[order]
        return field, mask, types
