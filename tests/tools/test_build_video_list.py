"""tools/data/build_video_list.py: a list of every video under a folder."""
from __future__ import annotations

from pathlib import Path

from suite_utils import load_tool


def touch(root: Path, rel: str) -> None:
    """Create an empty placeholder video file."""
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(b'')


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_build_video_list_of_a_folder(tmp_path, capsys):
    tool = load_tool('tools/data/build_video_list.py')
    root = tmp_path / 'videos'
    for rel in ('b/2.mp4', 'a/1.MKV', 'a/.hidden.mp4', 'a/notes.txt',
                '.cache/x.mp4'):
        touch(root, rel)
    out = tmp_path / 'lists' / 'train.txt'
    assert tool.main([str(root), '--out', str(out)]) == 0
    assert lines(out) == ['a/1.MKV 0', 'b/2.mp4 0']
    assert tool.main([str(root), '--out', str(out), '--labels', 'folder',
                      '--ext', 'mp4']) == 0
    assert lines(out) == ['b/2.mp4 0']
    assert lines(tmp_path / 'lists' / 'train_classes.txt') == ['b']
    touch(root, 'loose.mp4')
    assert tool.main([str(root), '--out', str(out), '--labels',
                      'folder']) == 2
    assert "lie directly in the root, e.g. 'loose.mp4'" in \
        capsys.readouterr().err
    touch(root, 'with space/3.mp4')
    assert tool.main([str(root), '--out', str(out)]) == 2
    assert "'with space/3.mp4' contains ' '" in capsys.readouterr().err
    assert tool.main([str(tmp_path / 'lists'), '--out', str(out)]) == 2
    assert 'no video files' in capsys.readouterr().err
