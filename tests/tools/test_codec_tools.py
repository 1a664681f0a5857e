"""tools/data/reencode.py and tools/analysis/benchmark_codec.py end to end
(extract_motion.py: tests/tools/test_extract_motion.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from suite_utils import REPO_ROOT as ROOT
from suite_utils import load_tool

from mmcmd.codec import CompressedVideo
from mmcmd.codec.samples import write_panning_video


class Result:
    """Exit status and captured output of one in-process tool run."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run_tool(capsys):
    """Run ``main(argv)`` of a tool script in this process."""
    def run(script: str, *args: str) -> Result:
        capsys.readouterr()
        code = load_tool(script).main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    return run


def interior_medians(motion, mask):
    inner = mask[:, 2:-2, 2:-2]
    return [(float(np.median(m[0, 2:-2, 2:-2][k])),
             float(np.median(m[1, 2:-2, 2:-2][k])))
            for m, k in zip(motion, inner) if k.any()]


@pytest.mark.parametrize('codec', ['h264', 'mpeg4'])
def test_reencode_gives_clean_motion(tmp_path, codec, run_tool):
    source = tmp_path / 'in' / 'class_a' / 'clip.mp4'
    write_panning_video(str(source), codec='h264', size=(96, 64), frames=24,
                        motion=(2.0, 1.0), gop=30, bframes=3, refs=3)
    (tmp_path / 'in' / 'broken.mp4').write_bytes(b'not a video')
    out = tmp_path / 'out'
    done = run_tool('tools/data/reencode.py', str(tmp_path / 'in'), str(out),
                    '--codec', codec, '--gop', '8', '--size', '48x32',
                    '--workers', '2')
    assert done.returncode == 1, done.stderr  # the broken file failed
    assert 'broken.mp4' in done.stderr
    target = out / 'class_a' / ('clip.mp4' if codec == 'h264' else 'clip.avi')
    assert target.exists()
    assert not [p for p in out.rglob('*') if '.part' in p.name]
    with CompressedVideo(target) as video:
        assert (video.width, video.height) == (48, 32)
        assert video.num_frames == 24
        assert video.index.keyframes.tolist() == [0, 8, 16]
        assert 'B' not in video.index.pict_types
        motion, mask = video.read_motion(range(24), raw=True)
    medians = interior_medians(motion, mask)
    assert len(medians) >= 20
    for median in medians:  # half size: (2, 1) px -> (1, 0.5) px, 1 frame
        assert median == pytest.approx((1.0, 0.5), abs=0.25)
    # A second run skips the finished output and leaves it untouched.
    stamp = target.stat().st_mtime_ns
    again = run_tool('tools/data/reencode.py', str(source), str(out / 'one'),
                     '--codec', codec)
    assert again.returncode == 0, again.stderr
    again = run_tool('tools/data/reencode.py', str(source), str(out / 'one'),
                     '--codec', codec)
    assert again.returncode == 0 and 'already done 1' in again.stdout
    assert target.stat().st_mtime_ns == stamp


def test_reencode_shards_split_the_list(tmp_path, run_tool):
    names = []
    for i in range(3):
        path = tmp_path / f'v{i}.mp4'
        write_panning_video(str(path), frames=4, size=(32, 32))
        names.append(path.name)
    listing = tmp_path / 'list.txt'
    listing.write_text(''.join(f'{n} {i}\n' for i, n in enumerate(names)))
    for shard in ('0/2', '1/2'):
        done = run_tool('tools/data/reencode.py', str(listing),
                        str(tmp_path / 'out'), '--shard', shard)
        assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / 'out').iterdir())
    assert written == names
    with pytest.raises(SystemExit) as bad:
        run_tool('tools/data/reencode.py', str(listing), str(tmp_path / 'x'),
                 '--shard', '2/2')
    assert bad.value.code == 2


def test_tools_run_from_the_repository_root():
    scripts = ('tools/data/reencode.py', 'tools/analysis/extract_motion.py',
               'tools/analysis/benchmark_codec.py')
    # One interpreter checks all three scripts start as `python tools/...`.
    code = ('import runpy, sys\n'
            'for script in sys.argv[1:]:\n'
            '    sys.argv = [script, "--help"]\n'
            '    try:\n'
            '        runpy.run_path(script, run_name="__main__")\n'
            '    except SystemExit as exit:\n'
            '        assert exit.code == 0, script\n')
    done = subprocess.run([sys.executable, '-c', code, *scripts], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, 'PYTHONPATH': ''})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('usage:') == 3


def test_benchmark_writes_rows_and_ratios(tmp_path, run_tool):
    video = tmp_path / 'small.mp4'
    write_panning_video(str(video), size=(96, 64), frames=24, gop=8)
    report = tmp_path / 'bench.json'
    done = run_tool('tools/analysis/benchmark_codec.py', str(video),
                    '--repeat', '1', '--samples', '2', '--mmaction-samples',
                    '1', '--flow-frames', '3', '--json', str(report))
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    rows = {row['name']: row for row in data['rows']}
    for name in ('rgb_decode', 'mv_export', 'motion_field', 'keyframes',
                 'farneback', 'dis_medium'):
        assert rows[name]['unit'] == 'frames/s' and rows[name]['value'] > 0
    for name in ('cmd_sample', 'mmaction_pyav_mv_sample',
                 'cmd_train_pipeline', 'cmd_sample_short_side_128',
                 'cmd_train_pipeline_short_side_128'):
        assert rows[name]['unit'] == 'samples/s' and rows[name]['value'] > 0
    small = rows['cmd_sample_short_side_128/cmd_sample']
    assert small['value'] == pytest.approx(
        rows['cmd_sample_short_side_128']['value']
        / rows['cmd_sample']['value'], rel=0.01)
    assert 'short side 128' in rows['cmd_sample_short_side_128']['video']
    ratio = rows['motion_field/mv_export']
    assert ratio['unit'] == 'ratio' and ratio['value'] == pytest.approx(
        rows['motion_field']['value'] / rows['mv_export']['value'], rel=0.01)
    assert {'cpu', 'python', 'av', 'numpy', 'torch'} <= set(data['machine'])
    assert 'motion_field' in done.stdout
