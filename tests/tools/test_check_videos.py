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
from mmcmd.codec.samples import write_panning_video
from mmcmd.codec.testing import write_audio_only

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


def run_check_videos(*args, cwd) -> subprocess.CompletedProcess:
    """The tool as a user runs it, in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / TOOL), *map(str, args),
                           '--workers', '1'], capture_output=True, text=True,
                          timeout=300, env=env, cwd=cwd)


def test_nothing_usable_leaves_the_clean_list_alone(dataset, tmp_path):
    root, videos = dataset['root'], dataset['videos']
    clean = tmp_path / 'clean.txt'
    clean.write_text('jump/a.mp4 0\nrun/c.mkv 1\n')
    before = clean.read_bytes()
    # a --data-prefix that does not exist, one that exists but is not the
    # root of the list's paths, and a list whose videos are all bad
    bad_list = tmp_path / 'bad.txt'
    bad_list.write_text('run/empty.mp4 1\nrun/notes.mp4 1\n')
    for args, message in [
            ((root / 'train.txt', '--data-prefix', root / 'wrong'),
             f'error: --data-prefix {root / "wrong"} is not a folder'),
            ((root / 'train.txt', '--data-prefix', videos / 'jump'),
             'error: none of the 6 paths listed in '),
            ((bad_list, '--data-prefix', videos),
             'error: none of the 2 videos could be read (the first, '
             f'{videos / "run/empty.mp4"}: VideoOpenError: '),
            ((root / 'train.txt', '--data-prefix', videos, '--min-frames',
              '1000'), 'error: no line of the annotation file(s) names a '
             'usable video; ')]:
        result = run_check_videos(*args, '--write-clean', clean, cwd=root)
        assert result.returncode == 2, (args, result.stderr[-2000:])
        errors = [line for line in result.stderr.splitlines()
                  if line.startswith('error: ')]
        assert len(errors) == 1 and errors[0].startswith(message), errors
        assert clean.read_bytes() == before
    assert 'clean.txt was not written' in errors[0]
    assert sorted(os.listdir(tmp_path)) == ['bad.txt', 'clean.txt']
    # a list with usable videos still replaces it
    result = run_check_videos(root / 'train.txt', '--data-prefix', videos,
                              '--write-clean', clean, cwd=root)
    assert result.returncode == 0, result.stderr[-2000:]
    assert clean.read_text().splitlines() == ['jump/a.mp4 0', 'run/c.mkv 1',
                                              'jump/b.avi 0']


def test_wrong_path_or_text_file_as_input_fails(dataset, tmp_path):
    root = dataset['root']
    result = run_check_videos(root / 'no_such_folder', cwd=root)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == \
        f'error: no such file or folder: {root / "no_such_folder"}'
    notes = tmp_path / 'notes.txt'
    notes.write_text('These are my notes about the dataset.\nNothing else.\n')
    readme = tmp_path / 'README.md'
    readme.write_text('# a text file, not a video\n' * 10)
    for item in (notes, readme):
        result = run_check_videos(item, cwd=root)
        assert result.returncode == 2, (item, result.stderr[-2000:])
        errors = [line for line in result.stderr.splitlines()
                  if line.startswith('error: ')]
        assert len(errors) == 1, result.stderr[-2000:]
    assert errors[0].startswith('error: none of the 1 videos could be read')
