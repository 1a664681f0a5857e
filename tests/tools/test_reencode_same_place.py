"""tools/data/reencode.py refuses outputs that land on or among their
inputs, with one line and exit status 2, before any work."""
from __future__ import annotations

from pathlib import Path

import pytest
from suite_utils import load_tool, write_test_video


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/data/reencode.py')


@pytest.fixture
def videos(tmp_path) -> Path:
    """A folder of two tiny H.264 videos."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    for i in range(2):
        write_test_video(str(folder / f'v{i}.mp4'), num_frames=6, seed=i)
    return folder


def _files(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob('*')
            if p.is_file()}


@pytest.mark.parametrize('out', ['same', 'inside', 'same_via_dot'])
def test_output_folder_on_or_inside_the_input_is_refused(tool, videos, out,
                                                         capsys):
    target = {'same': videos, 'inside': videos / 'copies',
              'same_via_dot': videos / '.'}[out]
    before = _files(videos)
    assert tool.main([str(videos), str(target)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: the output '
                                                   'folder')
    assert 'already done' not in captured.out
    assert _files(videos) == before
    assert not (videos / 'copies').exists()


def test_list_whose_outputs_are_its_sources_is_refused(tool, videos,
                                                       capsys):
    listing = videos / 'list.txt'
    listing.write_text('v0.mp4 0\nv1.mp4 1\n')
    assert tool.main([str(listing), str(videos)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'would overwrite its own source' in err[0]


def test_another_folder_still_works(tool, videos, tmp_path, capsys):
    out = tmp_path / 'out'
    assert tool.main([str(videos), str(out), '--keep-size']) == 0
    assert 'written 2' in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ['v0.mp4', 'v1.mp4']
