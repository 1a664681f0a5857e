"""The one folder scan for videos (mmcmd.utils.video_check.find_videos)."""
from __future__ import annotations

from mmcmd.utils.video_check import expand_inputs, find_videos


def test_find_videos_sorted_recursive_without_hidden(tmp_path):
    for name in ('b/2.MP4', 'b/1.avi', 'a.mp4', '.hidden/x.mp4', 'b/._1.mp4',
                 'notes.txt'):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'')
    assert find_videos(tmp_path, relative=True) == ['a.mp4', 'b/1.avi',
                                                     'b/2.MP4']
    assert find_videos(str(tmp_path), ('.avi', )) == [str(tmp_path / 'b' /
                                                          '1.avi')]
    paths, lists = expand_inputs([str(tmp_path)])
    assert paths == find_videos(str(tmp_path)) and lists == {}
