"""tools/analysis/check_videos.py on good and bad videos (folder + list)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from suite_utils import load_tool

from mmcmd.codec import CompressedVideo
from mmcmd.codec.testing import write_audio_only, write_panning_video

ROOT = Path(__file__).resolve().parents[2]
TOOL = 'tools/analysis/check_videos.py'


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """videos/ with 3 good and 4 bad files, and an annotation file."""
    root = tmp_path_factory.mktemp('check_videos')
    videos = root / 'videos'
    (videos / 'jump').mkdir(parents=True)
    (videos / 'run').mkdir()
    good = {
        'jump/a.mp4': write_panning_video(str(videos / 'jump/a.mp4'),
                                          frames=20, gop=10, bframes=2),
        'jump/b.avi': write_panning_video(str(videos / 'jump/b.avi'),
                                          codec='mpeg4', frames=16, gop=8),
        'run/c.mkv': write_panning_video(str(videos / 'run/c.mkv'),
                                         frames=12, gop=6),
    }
    (videos / 'run/empty.mp4').write_bytes(b'')
    (videos / 'run/notes.mp4').write_text('not a video\n' * 50)
    write_audio_only(str(videos / 'run/sound.mp4'))
    write_panning_video(str(videos / 'jump/hevc.mp4'), codec='hevc',
                        frames=8, gop=4)
    lines = ['jump/a.mp4 0', 'run/empty.mp4 1', 'jump/hevc.mp4 0',
             'run/c.mkv 1', 'run/sound.mp4 1', 'jump/b.avi 0']
    (root / 'train.txt').write_text('\n'.join(lines) + '\n\n')
    return dict(root=root, videos=videos, good=good, lines=lines,
                bad=['run/empty.mp4', 'run/notes.mp4', 'run/sound.mp4',
                     'jump/hevc.mp4'])


def test_folder_and_annotation_report_json_and_clean_list(dataset):
    root, videos = dataset['root'], dataset['videos']
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, str(ROOT / TOOL), str(videos),
         str(root / 'train.txt'), '--data-prefix', str(videos),
         '--json', str(root / 'report.json'),
         '--write-clean', str(root / 'clean.txt'), '--workers', '2'],
        capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    # A progress bar on stderr, the summary on stdout.
    assert 'checking videos' in result.stderr and '7/7' in result.stderr
    assert '3 of 7 videos ok' in result.stdout
    assert result.stdout.count('  BAD ') == 4
    reports = json.loads((root / 'report.json').read_text())
    by_name = {str(Path(r['path']).relative_to(videos)): r for r in reports}
    assert len(reports) == 7  # the annotation's videos are not repeated
    assert set(by_name) == set(dataset['good']) | set(dataset['bad'])
    for name in dataset['good']:
        report = by_name[name]
        with CompressedVideo(report['path']) as video:
            index = video.index
            assert report['ok'] and report['reason'] == ''
            assert report['codec'] == video.codec_name
            assert report['num_frames'] == video.num_frames
            assert (report['width'], report['height']) == (96, 64)
            assert report['num_keyframes'] == len(index.keyframes)
            assert report['pict_types'] == dict(Counter(index.pict_types))
            assert report['gop_max'] == int(np.diff(np.append(
                index.keyframes, index.num_frames)).max())
        assert report['motion_vectors'] is True
    assert by_name['jump/a.mp4']['num_frames'] == 20
    assert by_name['jump/a.mp4']['pict_types']['B'] > 0
    assert by_name['jump/b.avi']['codec'] == 'mpeg4'
    reasons = {name: by_name[name]['reason'] for name in dataset['bad']}
    assert not any(by_name[name]['ok'] for name in dataset['bad'])
    assert reasons['run/empty.mp4'].startswith('VideoOpenError: ')
    assert reasons['run/notes.mp4'].startswith('VideoOpenError: ')
    assert reasons['run/sound.mp4'].startswith('NoVideoStreamError: ')
    assert reasons['jump/hevc.mp4'].startswith('no motion vectors (hevc)')
    assert by_name['jump/hevc.mp4']['motion_vectors'] is False
    assert by_name['jump/hevc.mp4']['num_frames'] == 8
    # The clean list: exactly the annotation lines of good videos, in order.
    clean = (root / 'clean.txt').read_text().splitlines()
    assert clean == ['jump/a.mp4 0', 'run/c.mkv 1', 'jump/b.avi 0']


def test_exit_status_strict_rgb_only_and_bad_arguments(dataset, capsys,
                                                       tmp_path):
    tool = load_tool(TOOL)
    videos, good = dataset['videos'], list(dataset['good'].values())
    assert tool.main([str(videos), '--workers', '1']) == 0
    assert tool.main([str(videos), '--workers', '1', '--strict']) == 1
    assert tool.main([*good, '--workers', '1', '--strict']) == 0
    capsys.readouterr()
    # HEVC is fine for RGB-only use (finetuning); the broken files are not.
    assert tool.main([str(videos), '--workers', '1', '--rgb-only',
                      '--json', str(tmp_path / 'rgb.json')]) == 0
    reports = json.loads((tmp_path / 'rgb.json').read_text())
    assert sorted(Path(r['path']).name for r in reports if r['ok']) == [
        'a.mp4', 'b.avi', 'c.mkv', 'hevc.mp4']
    assert '4 of 7 videos ok' in capsys.readouterr().out
    # Too short for a 16x4 clip: counted as bad.
    assert tool.main([*good, '--workers', '1', '--strict',
                      '--min-frames', '61']) == 1
    assert 'fewer than the 61 required' in capsys.readouterr().out
    assert tool.main([str(tmp_path), '--workers', '1']) == 2
    assert 'no videos found' in capsys.readouterr().err
    assert tool.main([*good, '--write-clean', str(tmp_path / 'c.txt')]) == 2
    assert 'needs an annotation file' in capsys.readouterr().err
