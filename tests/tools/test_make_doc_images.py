"""tools/visualizations/make_doc_images.py at a tiny size, and the docs'
image links."""
from __future__ import annotations

import re

import numpy as np
from PIL import Image
from suite_utils import REPO_ROOT, load_tool


def test_generator_draws_every_figure_small(tmp_path):
    tool = load_tool('tools/visualizations/make_doc_images.py')
    done = tool.make_images(str(tmp_path), size=(64, 64), frames=16)
    assert sorted(done) == sorted(tool.FIGURES)
    for name, info in done.items():
        path = tmp_path / f'{name}.png'
        assert info['path'] == str(path)
        assert 1_000 < path.stat().st_size < 150_000, name
        with Image.open(path) as image:
            assert min(image.size) >= 150, name
    # The sample sheet pairs each class with its own scene, then another.
    shown = done['synthetic_samples']['shown']
    half = len(shown) // 2
    assert all(c == s for c, s in shown[:half])
    assert all(c != s for c, s in shown[half:])
    # Display order starts at the I-frame; decode order is a permutation
    # that never shows a frame before the anchor it depends on.
    display, decode = (done['frame_order']['display'],
                       done['frame_order']['decode'])
    assert display[0] == 'I' and 'B' in display
    assert sorted(decode) == list(range(len(display)))
    for slot, frame in enumerate(decode):
        anchors = [i for i in range(frame, len(display))
                   if display[i] != 'B']
        if display[frame] == 'B' and anchors:
            assert anchors[0] in decode[:slot]
    picture = np.asarray(Image.open(tmp_path / 'motion_picture.png'))
    assert picture.shape[2] == 3 and done['motion_picture']['full_scale'] > 0


def test_docs_link_existing_images():
    pages = [REPO_ROOT / 'README.md', *sorted((REPO_ROOT / 'docs').glob(
        '*.md'))]
    links = []
    for page in pages:
        for link in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', page.read_text()):
            links.append((page.parent / link).resolve())
    assert len(links) >= 4
    missing = [str(link) for link in links if not link.is_file()]
    assert not missing
