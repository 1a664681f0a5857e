"""tools/analysis/check_videos.py: per-video motion verdicts, the dataset
summary by reason, and a fix command that really gives exact copies."""
from __future__ import annotations

import json
import shlex

import pytest
from suite_utils import load_tool

from mmcmd.codec import probe_motion
from mmcmd.codec.encode import write_frames
from mmcmd.codec.samples import panning_frames

TOOL = 'tools/analysis/check_videos.py'


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """data/videos with one video per verdict, and data/train.txt."""
    root = tmp_path_factory.mktemp('motion_check') / 'data'
    videos = root / 'videos'
    frames = panning_frames((64, 48), 16, (2.0, 1.0))
    specs = {
        'a/exact.mp4': dict(gop=8),
        'a/refs3.mp4': dict(gop=250, options={'refs': '3', 'g': '250'}),
        'b/refs3_too.mkv': dict(gop=250, options={'refs': '3', 'g': '250'}),
        'b/pyramid.mp4': dict(gop=250, bframes=3, options={
            'bf': '3', 'b-pyramid': 'strict', 'refs': '1', 'g': '250'}),
        'b/mpeg4_b.avi': dict(codec='mpeg4', gop=8, bframes=2),
        'b/hevc.mp4': dict(codec='hevc', gop=8),
    }
    for name, kwargs in specs.items():
        write_frames(str(videos / name), frames, **kwargs)
    (videos / 'b' / 'broken.mp4').write_bytes(b'not a video')
    names = list(specs) + ['b/broken.mp4']
    (root / 'train.txt').write_text(''.join(f'{n} 0\n' for n in names))
    return root


def test_verdicts_summary_and_fix(dataset, tmp_path, capsys):
    tool = load_tool(TOOL)
    videos, ann = dataset / 'videos', dataset / 'train.txt'
    report = tmp_path / 'report.json'
    assert tool.main([str(ann), '--data-prefix', str(videos), '--workers',
                      '1', '--json', str(report)]) == 0
    out = capsys.readouterr().out
    reports = {r['path'][len(str(videos)) + 1:]: r
               for r in json.loads(report.read_text())}
    kinds = {name: (r['motion'] or 'unreadable').split(':')[0]
             for name, r in reports.items()}
    assert kinds == {'a/exact.mp4': 'exact', 'a/refs3.mp4': 'approximate',
                     'b/refs3_too.mkv': 'approximate',
                     'b/pyramid.mp4': 'approximate',
                     'b/mpeg4_b.avi': 'approximate', 'b/hevc.mp4': 'none',
                     'b/broken.mp4': 'unreadable'}
    for name, r in reports.items():  # the library's verdict, as text
        if r['motion'] is not None:
            assert r['motion'] == str(probe_motion(r['path']))
    assert ('motion: 1 exact, 4 approximate, 1 none (of 6 readable '
            'videos)') in out
    lines = out.splitlines()
    refs = ('max_num_ref_frames 3: P-frames predict from up to 3 '
            'reference frames')
    assert f'       2  {refs}' in lines
    assert '       1  B-frames used as references (B-pyramid)' in lines
    assert '       1  mpeg4 B-frames carry no motion vectors (their motion ' \
        'is masked out)' in lines
    assert '       1  hevc exports no motion vectors' in lines
    # The table lists the videos whose motion is not exact, with reasons.
    assert sum(line.endswith(f'approximate: {refs}') for line in lines) == 2
    assert not any('exact.mp4' in line for line in lines)
    target = dataset / 'reencoded' / 'videos'
    fix = (f'python tools/data/reencode.py {ann} {target} --data-prefix '
           f'{videos} --codec mpeg4')
    assert f'  {fix}' in lines
    # Run the printed command: every copy (of the 6 readable videos)
    # then reads exact.
    reencode = load_tool('tools/data/reencode.py')
    assert reencode.main(shlex.split(fix)[2:]) == 1  # broken.mp4 fails
    capsys.readouterr()
    assert tool.main([str(target), '--workers', '1', '--table']) == 0
    out = capsys.readouterr().out
    assert 'motion: 6 exact, 0 approximate, 0 none' in out
    assert sum(line.endswith('  exact') for line in out.splitlines()) == 6
    assert 'reencode.py' not in out


def test_folder_input_prints_the_folder_command(dataset, capsys):
    tool = load_tool(TOOL)
    videos = dataset / 'videos' / 'b'
    assert tool.main([str(videos), '--workers', '1']) == 0
    out = capsys.readouterr().out
    target = dataset / 'videos' / 'reencoded' / 'b'
    assert (f'  python tools/data/reencode.py {videos} {target} --codec '
            'mpeg4') in out.splitlines()
    # RGB-only data (finetuning) reads no motion: no motion summary.
    assert tool.main([str(videos), '--workers', '1', '--rgb-only']) == 0
    out = capsys.readouterr().out
    assert 'motion:' not in out and 'reencode.py' not in out
