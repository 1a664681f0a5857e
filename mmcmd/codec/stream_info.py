"""How exact a video's motion is, from cheap evidence in its stream.

The motion contract divides every vector by the display distance to the
nearest anchor in its direction (docs/codec.md). FFmpeg's motion-vector side
data gives a reference's direction, not its index, so that is exact only
when each prediction direction has ONE candidate reference frame, the
nearest I/P anchor, and no B-frame serves as a reference (a B-pyramid).
:func:`motion_verdict` classifies a stream as

- ``exact``: P-frames predict from one frame (the previous anchor), B-frames
  (if any) from the anchor on each side, and no B-frame is a reference;
- ``approximate: <reason>``: several reference frames, reference B-frames,
  interlaced H.264, or B-frames whose vectors the decoder does not export;
- ``none: <reason>``: no motion vectors at all (codec or all-intra).

For H.264 the evidence is the SPS (``max_num_ref_frames``, interlacing),
the PPS and the slice headers of the first packets: the number of
reference indices P and B slices use, and ``nal_ref_idc`` of B slices (a
B slice stored as a reference is a B-pyramid). Only headers are parsed
(:mod:`mmcmd.codec.h264_headers`): about 3 ms of CPU for a 250-frame video.
PyAV only.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional

import av

from .decoders import MOTION_VECTOR_CODECS, ZERO_B_FRAME_CODECS
from .h264_headers import H264Evidence, h264_evidence
from .reader import CompressedVideo

#: verdict kinds, from best to worst.
EXACT, APPROXIMATE, NONE = 'exact', 'approximate', 'none'

#: how a re-encode fixes a stream (tools/data/reencode.py).
REENCODE_FIX = ('re-encode with `python tools/data/reencode.py INPUT '
                'OUT_DIR --codec mpeg4` (one reference frame, no B-frames, '
                "GOP 12: the CMD reference's data)")


class InexactMotionWarning(UserWarning):
    """A video's motion is approximate or absent (see :func:`motion_verdict`).

    ``warnings.filterwarnings('ignore', category=InexactMotionWarning)``
    silences it.
    """


@dataclass(frozen=True)
class MotionVerdict:
    """A stream's motion: ``kind`` (exact / approximate / none) and why.

    ``max_num_ref_frames``, ``p_refs`` (most reference indices a P slice
    uses), ``b_refs`` (most per direction in a B slice) and
    ``reference_b_slices`` (B slices stored as references) are the H.264
    evidence read from the first packets, None where not read.
    """

    kind: str
    reason: str = ''
    max_num_ref_frames: Optional[int] = None
    p_refs: Optional[int] = None
    b_refs: Optional[int] = None
    reference_b_slices: Optional[int] = None

    @property
    def exact(self) -> bool:
        """True when every normalised vector is exact."""
        return self.kind == EXACT

    def __str__(self) -> str:
        return self.kind if not self.reason else f'{self.kind}: {self.reason}'


def h264_verdict(evidence: H264Evidence) -> MotionVerdict:
    """Classify H.264 evidence (see the module docstring)."""
    found = dict(max_num_ref_frames=evidence.max_num_ref_frames,
                 p_refs=evidence.p_refs or None,
                 b_refs=evidence.b_refs or None,
                 reference_b_slices=evidence.reference_b_slices)
    refs = evidence.max_num_ref_frames
    # A reference list may repeat a frame (x264 adds a weighted copy), so
    # no more frames than the SPS allows are distinct.
    p_frames = min(evidence.p_refs, refs or evidence.p_refs)
    b_frames = min(evidence.b_refs, refs or evidence.b_refs)
    reasons = []
    if evidence.interlaced:
        reasons.append('interlaced (field-coded) H.264')
    if evidence.slices == 0:  # no slice header read: the SPS alone
        if refs is not None and refs > 1:
            reasons.append(f'max_num_ref_frames {refs}: vectors may point '
                           'past the nearest anchor')
    else:
        if p_frames > 1:
            reasons.append(f'max_num_ref_frames {refs}: P-frames predict '
                           f'from up to {p_frames} reference frames')
        if evidence.reference_b_slices:
            reasons.append('B-frames used as references (B-pyramid)')
        if b_frames > 1:
            reasons.append(f'B-frames predict from up to {b_frames} '
                           'reference frames per direction')
    if reasons:
        return MotionVerdict(APPROXIMATE, '; '.join(reasons), **found)
    return MotionVerdict(EXACT, **found)


def _first_packets(video: CompressedVideo, max_packets: int) -> List[bytes]:
    """Bytes of the first ``max_packets`` video packets of ``video``:
    those the reader kept from indexing, else read from a second handle."""
    kept = getattr(video, '_packets', None)
    if kept is not None:
        return [bytes(p) for p in kept[:max_packets]]
    out: List[bytes] = []
    try:
        with av.open(video.path, metadata_errors='ignore') as container:
            for packet in container.demux(container.streams.video[0]):
                if packet.size:
                    out.append(bytes(packet))
                if len(out) >= max_packets:
                    break
    except (av.error.FFmpegError, OSError, ValueError):
        pass  # a damaged tail: judge by the packets read
    return out


def motion_verdict(video: CompressedVideo, max_packets: int = 300
                   ) -> MotionVerdict:
    """Classify the motion of an open :class:`CompressedVideo`.

    ``max_packets`` bounds the H.264 slice headers read (from the start).
    Uses the video's frame index (built if needed) for picture types.
    """
    codec = video.codec_name
    if video.decoder_name not in MOTION_VECTOR_CODECS:
        return MotionVerdict(NONE, f'{codec} exports no motion vectors')
    index = video.index
    if index.all_intra:
        return MotionVerdict(NONE, 'every frame is an I-frame')
    b_frames = int((index.pict_types == 'B').sum())
    if video.decoder_name in ZERO_B_FRAME_CODECS and b_frames:
        return MotionVerdict(
            APPROXIMATE, f'{codec} B-frames carry no motion vectors '
            '(their motion is masked out)')
    if video.decoder_name == 'h264':
        extradata = video._stream.codec_context.extradata
        return h264_verdict(h264_evidence(
            extradata, _first_packets(video, max_packets)))
    return MotionVerdict(EXACT)


def probe_motion(path: str, max_packets: int = 300) -> MotionVerdict:
    """Open ``path``, classify its motion (:func:`motion_verdict`), close.

    Raises the reader's :class:`~mmcmd.codec.CodecError` types for files it
    cannot open or index.
    """
    with CompressedVideo(path) as video:
        return motion_verdict(video, max_packets)


#: verdicts this process has read, by file path: each file is judged and
#: warned about once.
_VERDICTS: Dict[str, Optional[MotionVerdict]] = {}


def warn_inexact_motion(video: CompressedVideo) -> Optional[MotionVerdict]:
    """:func:`motion_verdict` of an open video, read once per file path in
    this process; the first time a file's motion is not exact, an
    :class:`InexactMotionWarning` names the file, the reason and the fix.
    None (and no warning) where the check itself fails: it never stops
    the caller."""
    if video.path in _VERDICTS:
        return _VERDICTS[video.path]
    try:
        verdict = motion_verdict(video)
    except Exception:  # a damaged stream: reading it reports the damage
        verdict = None
    _VERDICTS[video.path] = verdict
    if verdict is not None and not verdict.exact:
        warnings.warn(f'{video.path}: motion {verdict}; {REENCODE_FIX}',
                      InexactMotionWarning, stacklevel=3)
    return verdict
