"""Motion precision: ``'exact'`` sub-pixel vectors against ``'reference'``
whole-pixel ones, the CMD reference's coviar values (FFmpeg's exported
``src = dst + motion / scale`` in integer division), on a brute-force
formula and on known half-pel pans."""
from __future__ import annotations

import av
import numpy as np
import pytest
from mmaction.registry import TRANSFORMS

from mmcmd.codec import CompressedVideo
from mmcmd.codec.motion import (
    MOTION_VECTOR_DTYPE,
    block_motion,
    coded_displacement,
    motion_field,
)
from mmcmd.codec.samples import write_panning_video


def c_division(numerator: int, denominator: int) -> int:
    """C's integer division: the quotient truncated toward zero."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def test_reference_precision_is_c_integer_division():
    motions = [-9, -7, -6, -5, -3, -2, -1, 0, 1, 2, 3, 5, 6, 7, 9]
    mv = np.zeros(2 * len(motions), MOTION_VECTOR_DTYPE)
    mv['motion_x'] = motions * 2
    mv['motion_y'] = [-m for m in motions] * 2
    mv['motion_scale'] = [2] * len(motions) + [4] * len(motions)
    mv['source'] = -1
    sx, sy = coded_displacement(mv, 'reference')
    assert sx.tolist() == [c_division(int(m), int(s)) for m, s in
                           zip(mv['motion_x'], mv['motion_scale'])]
    assert sy.tolist() == [c_division(int(m), int(s)) for m, s in
                           zip(mv['motion_y'], mv['motion_scale'])]
    ex, _ = coded_displacement(mv, 'exact')
    np.testing.assert_array_equal(ex, mv['motion_x'] / mv['motion_scale'])
    # a half-pel vector (+-1 at scale 2) becomes 0, 1.5 px becomes 1
    assert sx[motions.index(1)] == sx[motions.index(-1)] == 0
    assert sx[motions.index(3)] == 1 and sx[motions.index(-3)] == -1
    vx, _ = block_motion(mv, precision='reference')
    np.testing.assert_array_equal(vx, -sx)  # past reference: dst - src
    with pytest.raises(ValueError, match='precision'):
        coded_displacement(mv, 'round')


def exported_vectors(path):
    """Every P-frame's exported vectors (the structured side data)."""
    out = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {'flags2': '+export_mvs'}
        for frame in container.decode(stream):
            side = frame.side_data.get('MOTION_VECTORS')
            if side is not None:
                out.append((side.to_ndarray(), frame.height, frame.width))
    return out


@pytest.mark.parametrize('pan,exact_x,whole_x', [
    (0.5, 0.5, 0.0),   # a half-pel pan: the reference reads no motion
    (1.5, 1.5, 1.0),   # truncated toward zero
    (-1.5, -1.5, -1.0),
])
def test_known_half_pel_pan(tmp_path, pan, exact_x, whole_x):
    """MPEG-4 Part 2 without B-frames (the reference's re-encoding): the
    pan's cells read ``pan`` exactly, and its truncation in the reference
    mode, which equals the field painted from FFmpeg's exported integer
    ``dst - src`` (what coviar_loader.c reads)."""
    path = write_panning_video(str(tmp_path / 'pan.avi'), codec='mpeg4',
                               size=(96, 64), frames=12, motion=(pan, 0.0),
                               gop=12)
    checked = 0
    for mv, height, width in exported_vectors(path):
        assert (mv['source'] < 0).all()
        whole, mask = motion_field(mv, height, width, precision='reference')
        # brute force: the exported whole-pixel src/dst fields themselves
        integer = mv.copy()
        integer['motion_x'] = mv['src_x'] - mv['dst_x']
        integer['motion_y'] = mv['src_y'] - mv['dst_y']
        integer['motion_scale'] = 1
        expected, expected_mask = motion_field(integer, height, width)
        np.testing.assert_array_equal(mask, expected_mask)
        np.testing.assert_array_equal(whole, expected)
        checked += 1
    assert checked == 11
    with CompressedVideo(path) as video:
        exact, mask = video.read_motion(range(1, 12))
        ref, ref_mask = video.read_motion(range(1, 12), precision='reference')
    np.testing.assert_array_equal(mask, ref_mask)
    inner = mask.copy()
    inner[:, [0, -1]] = False
    inner[:, :, [0, -1]] = False
    assert np.median(exact[:, 0][inner]) == exact_x
    assert np.median(ref[:, 0][inner]) == whole_x
    assert (ref == np.trunc(ref)).all()
    assert np.abs(ref).max() <= np.abs(exact).max()


def test_cmd_decode_switch(tmp_path):
    """CMDDecode(motion_precision=...) reaches the decoder, in source
    pixels before any crop or resize."""
    path = write_panning_video(str(tmp_path / 'pan.avi'), codec='mpeg4',
                               size=(96, 64), frames=12, motion=(0.5, 0.0),
                               gop=12)
    fields = {}
    for precision in ('exact', 'reference'):
        results = TRANSFORMS.build(dict(type='CompressedVideoInit'))(
            dict(filename=path))
        results.update(frame_inds=np.arange(2),
                       motion_inds=np.arange(2, 6))
        decode = TRANSFORMS.build(dict(type='CMDDecode',
                                       motion_precision=precision))
        assert f"motion_precision='{precision}'" in repr(decode)
        fields[precision] = decode(results)['motion']
    assert np.median(fields['exact'][:, 0]) == 0.5
    assert not fields['reference'].any()
    with pytest.raises(ValueError, match='precision'):
        TRANSFORMS.build(dict(type='CMDDecode', motion_precision='half'))
