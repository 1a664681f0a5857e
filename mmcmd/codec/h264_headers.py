"""H.264 headers read without decoding: SPS, PPS and slice headers.

Just enough of the H.264 syntax (ITU-T H.264 7.3) to tell how many
reference frames the pictures of a stream may use and whether B-pictures
are stored as references: an exp-Golomb bit reader, NAL-unit splitting
(Annex-B start codes, or the length prefixes of MP4/MKV with the avcC
record), the SPS fields up to ``frame_mbs_only_flag`` (the chroma-format
and scaling-list branch of High profiles included), the PPS fields a
slice header needs and slice headers up to their reference counts. Pure
Python; used by :mod:`mmcmd.codec.stream_info`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

#: H.264 profiles whose SPS carries chroma format, bit depths and scaling
#: lists (High and above).
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138,
                            139, 134, 135})

#: slice_type % 5 -> letter.
_SLICE_TYPES = {0: 'P', 1: 'B', 2: 'I', 3: 'P', 4: 'I'}


class BitReader:
    """Big-endian bit reader with exp-Golomb codes (H.264 headers).

    Reading past the end raises ValueError (a truncated or foreign header).
    """

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, 'big')
        self.size = len(data) * 8
        self.pos = 0

    def u(self, bits: int) -> int:
        """Next ``bits`` bits as an unsigned integer."""
        if bits == 0:
            return 0
        if self.pos + bits > self.size:
            raise ValueError('header ends early')
        self.pos += bits
        return (self.value >> (self.size - self.pos)) & ((1 << bits) - 1)

    def ue(self) -> int:
        """Unsigned exp-Golomb code."""
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError('exp-Golomb code too long')
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """Signed exp-Golomb code."""
        code = self.ue()
        return (code + 1) // 2 if code % 2 else -(code // 2)


def rbsp(nal: bytes, limit: int = 96) -> bytes:
    """Payload of a NAL unit after its header byte, emulation prevention
    bytes (00 00 03) removed, at most ``limit`` input bytes."""
    data = nal[1:limit]
    if b'\x00\x00\x03' not in data:
        return data
    out = bytearray()
    zeros = 0
    for byte in data:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def split_annexb(data: bytes) -> List[bytes]:
    """NAL units of Annex-B bytes (00 00 01 / 00 00 00 01 start codes)."""
    units = []
    for chunk in data.split(b'\x00\x00\x01')[1:]:
        chunk = chunk.rstrip(b'\x00')
        if chunk:
            units.append(chunk)
    return units


def split_length_prefixed(data: bytes, length_size: int) -> List[bytes]:
    """NAL units of MP4/MKV sample bytes (big-endian length prefixes)."""
    units, pos = [], 0
    while pos + length_size <= len(data):
        size = int.from_bytes(data[pos:pos + length_size], 'big')
        pos += length_size
        if size <= 0 or pos + size > len(data):
            break
        units.append(data[pos:pos + size])
        pos += size
    return units


def parse_avcc(extradata: bytes) -> Tuple[int, List[bytes]]:
    """(NAL length size, SPS and PPS units) of an avcC record."""
    length_size = (extradata[4] & 3) + 1
    units, pos = [], 6
    count = extradata[5] & 31
    for table in range(2):
        for _ in range(count):
            size = int.from_bytes(extradata[pos:pos + 2], 'big')
            units.append(extradata[pos + 2:pos + 2 + size])
            pos += 2 + size
        if table == 0 and pos < len(extradata):
            count = extradata[pos]
            pos += 1
    return length_size, units


def _skip_scaling_list(bits: BitReader, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + bits.se() + 256) % 256
        last = following or last


def parse_sps(nal: bytes) -> Dict[str, int]:
    """SPS fields up to ``frame_mbs_only_flag`` (ValueError if cut)."""
    bits = BitReader(rbsp(nal, len(nal)))
    sps = dict(profile_idc=bits.u(8))
    bits.u(16)  # constraint flags, level_idc
    sps['id'] = bits.ue()
    sps['separate_colour_plane'] = 0
    if sps['profile_idc'] in _HIGH_PROFILES:
        chroma_format = bits.ue()
        if chroma_format == 3:
            sps['separate_colour_plane'] = bits.u(1)
        bits.ue(), bits.ue(), bits.u(1)  # bit depths, transform bypass
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format != 3 else 12):
                if bits.u(1):
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    sps['log2_max_frame_num'] = bits.ue() + 4
    sps['poc_type'] = bits.ue()
    sps['delta_poc_always_zero'] = 0
    if sps['poc_type'] == 0:
        sps['log2_max_poc_lsb'] = bits.ue() + 4
    elif sps['poc_type'] == 1:
        sps['delta_poc_always_zero'] = bits.u(1)
        bits.se(), bits.se()
        for _ in range(bits.ue()):
            bits.se()
    sps['max_num_ref_frames'] = bits.ue()
    bits.u(1)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(), bits.ue()  # picture size in macroblocks
    sps['frame_mbs_only'] = bits.u(1)
    return sps


def parse_pps(nal: bytes) -> Dict[str, int]:
    """PPS fields a slice header needs (ValueError with slice groups)."""
    bits = BitReader(rbsp(nal))
    pps = dict(id=bits.ue(), sps_id=bits.ue())
    bits.u(1)  # entropy_coding_mode_flag
    pps['bottom_field_poc'] = bits.u(1)
    if bits.ue():
        raise ValueError('slice groups (FMO) are not parsed')
    pps['l0_default'] = bits.ue() + 1
    pps['l1_default'] = bits.ue() + 1
    bits.u(3), bits.se(), bits.se(), bits.se(), bits.u(2)
    pps['redundant_pic_cnt'] = bits.u(1)
    return pps


def parse_slice_header(nal: bytes, sps_by_id: Dict[int, Dict],
                       pps_by_id: Dict[int, Dict]
                       ) -> Tuple[str, int, int, bool]:
    """(slice letter, list-0 refs, list-1 refs, field slice) of a slice
    NAL unit (types 1 and 5) up to its reference counts."""
    bits = BitReader(rbsp(nal))
    bits.ue()  # first_mb_in_slice
    kind = _SLICE_TYPES.get(bits.ue() % 5, 'I')
    pps = pps_by_id[bits.ue()]
    sps = sps_by_id[pps['sps_id']]
    if sps['separate_colour_plane']:
        bits.u(2)
    bits.u(sps['log2_max_frame_num'])
    field = False
    if not sps['frame_mbs_only']:
        field = bool(bits.u(1))
        if field:
            bits.u(1)
    if nal[0] & 31 == 5:
        bits.ue()  # idr_pic_id
    if sps['poc_type'] == 0:
        bits.u(sps['log2_max_poc_lsb'])
        if pps['bottom_field_poc'] and not field:
            bits.se()
    elif sps['poc_type'] == 1 and not sps['delta_poc_always_zero']:
        bits.se()
        if pps['bottom_field_poc'] and not field:
            bits.se()
    if pps['redundant_pic_cnt']:
        bits.ue()
    if kind == 'I':
        return kind, 0, 0, field
    if kind == 'B':
        bits.u(1)  # direct_spatial_mv_pred_flag
    l0, l1 = pps['l0_default'], pps['l1_default']
    if bits.u(1):  # num_ref_idx_active_override_flag
        l0 = bits.ue() + 1
        if kind == 'B':
            l1 = bits.ue() + 1
    return kind, l0, l1 if kind == 'B' else 0, field


@dataclass
class H264Evidence:
    """What the parameter sets and slice headers of an H.264 stream say."""

    max_num_ref_frames: Optional[int] = None
    interlaced: bool = False
    p_refs: int = 0
    b_refs: int = 0
    b_slices: int = 0
    reference_b_slices: int = 0
    slices: int = 0


def h264_evidence(extradata: Optional[bytes], packets: Iterable[bytes]
                  ) -> H264Evidence:
    """Parse the SPS/PPS (avcC extradata or in-band) and every slice
    header of ``packets`` (MP4/MKV length-prefixed or Annex-B bytes)."""
    evidence = H264Evidence()
    sps_by_id: Dict[int, Dict] = {}
    pps_by_id: Dict[int, Dict] = {}
    length_size = 0
    units: List[bytes] = []
    if extradata and extradata[0] == 1 and len(extradata) > 6:
        length_size, units = parse_avcc(extradata)
    elif extradata:
        units = split_annexb(extradata)

    def read(nal: bytes) -> None:
        kind = nal[0] & 31 if nal else 0
        try:
            if kind == 7:
                sps = parse_sps(nal)
                sps_by_id[sps['id']] = sps
                evidence.max_num_ref_frames = max(
                    evidence.max_num_ref_frames or 0,
                    sps['max_num_ref_frames'])
                evidence.interlaced |= not sps['frame_mbs_only']
            elif kind == 8:
                pps = parse_pps(nal)
                pps_by_id[pps['id']] = pps
            elif kind in (1, 5):
                letter, l0, l1, field = parse_slice_header(nal, sps_by_id,
                                                           pps_by_id)
                evidence.slices += 1
                evidence.interlaced |= field
                if letter == 'P':
                    evidence.p_refs = max(evidence.p_refs, l0)
                elif letter == 'B':
                    evidence.b_slices += 1
                    evidence.b_refs = max(evidence.b_refs, l0, l1)
                    evidence.reference_b_slices += (nal[0] >> 5) & 3 != 0
        except (ValueError, KeyError, IndexError):
            pass  # a header this parser does not cover: no evidence

    for nal in units:
        read(nal)
    for data in packets:
        if not length_size and data[:3] != b'\x00\x00\x01' \
                and data[:4] != b'\x00\x00\x00\x01':
            length_size = 4  # length-prefixed without avcC extradata
        for nal in (split_length_prefixed(data, length_size) if length_size
                    else split_annexb(data)):
            read(nal)
    return evidence
