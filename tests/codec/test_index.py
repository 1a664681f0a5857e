"""Frame index from packet order: picture types, GOPs, anchor distances."""
from __future__ import annotations

import numpy as np

from mmcmd.codec.index import build_index, shown_view


def index_of(display_in_decode_order, keys=(0,), time_base=0.04):
    pts = list(display_in_decode_order)
    return build_index(pts, pts, [p in keys for p in pts], time_base)


def test_ip_stream():
    index = index_of(range(6), keys=(0, 4))
    assert ''.join(index.pict_types) == 'IPPPIP'
    assert index.keyframes.tolist() == [0, 4]
    assert index.gop_start.tolist() == [0, 0, 0, 0, 4, 4]
    assert index.past_distance.tolist() == [1, 1, 1, 1, 1, 1]
    np.testing.assert_allclose(index.timestamps, np.arange(6) * 0.04)


def test_b_frames_use_the_surrounding_anchors():
    # Display I0 B1 B2 P3 B4 B5 P6, decoded I0 P3 B1 B2 P6 B4 B5.
    index = index_of([0, 3, 1, 2, 6, 4, 5])
    assert ''.join(index.pict_types) == 'IBBPBBP'
    assert index.past_distance.tolist() == [1, 1, 2, 3, 1, 2, 3]
    assert index.future_distance.tolist() == [3, 2, 1, 3, 2, 1, 1]


def test_pyramid_reference_b_frame():
    # Display I0 B1 B2 B3 P4 with B2 a reference: decoded I0 P4 B2 B1 B3.
    index = index_of([0, 4, 2, 1, 3])
    assert ''.join(index.pict_types) == 'IBBBP'
    # B1 and B3 predict from I0/B2 and B2/P4; B2 from I0/P4.
    assert index.past_distance.tolist() == [1, 1, 2, 1, 4]
    assert index.future_distance.tolist() == [4, 1, 2, 1, 1]


def test_missing_key_flags_make_the_first_frame_a_keyframe():
    index = build_index([0, 1, 2], [0, 1, 2], [False] * 3, 0.5)
    assert index.keyframes.tolist() == [0]
    assert index.pict_types.tolist() == ['I', 'P', 'P']


def test_frames_before_the_first_keyframe_get_a_gop_at_frame_0():
    # The first keyframe is lost: P0 P1 I2 P3 (decoded in display order).
    index = build_index([0, 1, 2, 3], [0, 1, 2, 3], [False, False, True,
                                                     False], 0.04)
    assert ''.join(index.pict_types) == 'PPIP'
    assert index.keyframes.tolist() == [0, 2]
    assert index.gop_start.tolist() == [0, 0, 2, 2]
    assert index.keyframe_shown.tolist() == [False, True]
    assert index.seek_ts.tolist() == [0, 2]


def test_shown_view_keeps_hidden_keyframes_as_seek_points():
    # I(-2) P(-1) hidden by an edit list; P0 P1 I2 P3 shown.
    full = build_index([-2, -1, 0, 1, 2, 3], [-2, -1, 0, 1, 2, 3],
                       [True, False, False, False, True, False], 0.04,
                       start_pts=0)
    view, frames = shown_view(full, full.pts >= 0)
    assert frames.tolist() == [2, 3, 4, 5]
    assert ''.join(view.pict_types) == 'PPIP'
    assert view.keyframes.tolist() == [0, 2]
    assert view.gop_start.tolist() == [0, 0, 2, 2]
    assert view.keyframe_shown.tolist() == [False, True]
    assert view.seek_ts.tolist() == [-2, 2]  # the hidden I-frame's dts
    np.testing.assert_allclose(view.timestamps, np.arange(4) * 0.04)
    assert view.past_distance.tolist() == [1, 1, 1, 1]
