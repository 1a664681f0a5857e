"""Labelled strips and animation pictures: sizes readable on a laptop,
frames placed pixel for pixel where the layout says, bad inputs refused."""
from __future__ import annotations

import numpy as np
import pytest

from mmcmd.visualization.panels import (
    MIN_PANEL_HEIGHT,
    MIN_STRIP_WIDTH,
    AnimationRenderer,
    StripRenderer,
    animation_pictures,
    strip_picture,
    upscale,
    whole_factor,
)


def _rows(count: int = 2, t: int = 6, h: int = 20, w: int = 30
          ) -> list:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)
            for _ in range(count)]


def test_whole_factor_and_upscale():
    assert whole_factor(32, 256) == 8 and whole_factor(300, 256) == 1
    assert whole_factor(33, 256) == 8  # 264 >= 256
    image = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    big = upscale(image, 3)
    assert big.shape == (3, 6, 3)
    assert np.all(big[:, :3] == image[0, 0]) and np.all(big[:, 3:] ==
                                                       image[0, 1])
    with pytest.raises(ValueError):
        whole_factor(0, 10)


def test_strip_is_wide_and_places_every_frame():
    rows = _rows()
    numbers = [list(range(6)), list(range(5, -1, -1))]
    renderer = StripRenderer((6, 20, 30), ['frames', 'heat'], 'title',
                             count=3)
    picture = renderer.render(rows, numbers)
    assert picture.shape[1] >= MIN_STRIP_WIDTH
    assert picture.shape[:2] == renderer.size[::-1]
    assert renderer.index.tolist() == [0, 2, 5]
    for r, row in enumerate(rows):
        for c, i in enumerate(renderer.index):
            x, y, w, h = renderer.boxes[r, c]
            assert np.array_equal(picture[y:y + h, x:x + w],
                                  upscale(row[i], renderer.factor))
    # the same through the one-call helper
    assert np.array_equal(strip_picture(rows, ['frames', 'heat'], 'title',
                                        3, numbers), picture)


def test_animation_panels_are_tall_and_even():
    rows = _rows(3, t=4, h=21, w=17)
    pictures = list(animation_pictures(rows, ['a', 'b', 'c'], 'title'))
    renderer = AnimationRenderer((4, 21, 17), ['a', 'b', 'c'], 'title')
    assert len(pictures) == 4
    height, width = pictures[0].shape[:2]
    assert (width, height) == renderer.size
    assert height % 2 == 0 and width % 2 == 0
    assert renderer.factor * 21 >= MIN_PANEL_HEIGHT
    for t, picture in enumerate(pictures):
        for i, row in enumerate(rows):
            x, y, w, h = renderer.boxes[i]
            assert np.array_equal(picture[y:y + h, x:x + w],
                                  upscale(row[t], renderer.factor))
    # the frame-number text changes between pictures, the panels' places
    # do not
    assert not np.array_equal(pictures[0][:40], pictures[1][:40])


def test_bad_rows_are_refused():
    rows = _rows()
    with pytest.raises(ValueError, match='labels'):
        strip_picture(rows, ['only one'], 't')
    with pytest.raises(ValueError, match='shape'):
        strip_picture([rows[0], rows[1][:, :10]], ['a', 'b'], 't')
    with pytest.raises(ValueError, match='numbers'):
        strip_picture(rows, ['a', 'b'], 't', numbers=[[0], [1]])
