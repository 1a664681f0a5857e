"""Fuzzing: damaged videos never crash, hang or raise undocumented errors."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from suite_utils import load_tool

from mmcmd.codec.samples import write_panning_video

fuzz = load_tool('tools/analysis/fuzz_reader.py')
BUG_OUTCOMES, MUTATORS, OUTCOMES = (fuzz.BUG_OUTCOMES, fuzz.MUTATORS,
                                    fuzz.OUTCOMES)
mutate, run_isolated = fuzz.mutate, fuzz.run_isolated
summarize, write_mutants = fuzz.summarize, fuzz.write_mutants
SOURCE = bytes(range(256)) * 40  # 10,240 distinct-looking bytes


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    """Small valid videos: H.264 with B-frames (MP4, MKV), MPEG-4 in AVI."""
    folder = tmp_path_factory.mktemp('fuzz_sources')
    return [
        write_panning_video(str(folder / 'h264_bframes.mp4'), frames=20,
                            gop=10, bframes=2),
        write_panning_video(str(folder / 'mpeg4.avi'), codec='mpeg4',
                            frames=20, gop=8),
        write_panning_video(str(folder / 'h264_pyramid.mkv'), frames=20,
                            gop=10, bframes=3, refs=3, pyramid=True),
    ]


@pytest.mark.parametrize('name', sorted(MUTATORS))
def test_mutators_are_seeded_and_do_what_they_say(name):
    first, used = mutate(SOURCE, (3, 7), name)
    again, _ = mutate(SOURCE, (3, 7), name)
    assert used == name and first == again and first != SOURCE
    others = {mutate(SOURCE, (3, seed), name)[0] for seed in range(8)}
    assert len(others) > 1
    data = np.frombuffer(SOURCE, np.uint8)
    out = np.frombuffer(first, np.uint8)
    if name == 'flip_bytes':
        assert out.size == data.size and 1 <= (out != data).sum() <= 16
    elif name == 'truncate':
        assert 1 <= out.size < data.size and SOURCE.startswith(first)
    elif name == 'duplicate_chunk':
        extra = out.size - data.size
        assert 1 <= extra <= data.size // 16
        # Removing the inserted copy gives the original back.
        assert any(first[:i] + first[i + extra:] == SOURCE
                   for i in range(out.size - extra + 1))
    elif name == 'zero_range':
        changed = np.flatnonzero(out != data)
        assert out.size == data.size and (out[changed] == 0).all()
    elif name == 'swap_chunks':
        assert out.size == data.size
        assert np.array_equal(np.sort(out), np.sort(data))


def test_random_mutator_choice_is_seeded():
    picks = [mutate(SOURCE, (0, i))[1] for i in range(40)]
    assert picks == [mutate(SOURCE, (0, i))[1] for i in range(40)]
    assert set(picks) == set(MUTATORS)
    with pytest.raises(ValueError, match='unknown mutator'):
        mutate(SOURCE, 0, 'melt')


def test_fuzzed_videos_give_only_documented_outcomes(sources, tmp_path):
    mutants = write_mutants(sources, 45, str(tmp_path), seed=2024,
                            mutators=sorted(MUTATORS))
    assert Counter(m.mutator for m in mutants) == {n: 9 for n in MUTATORS}
    assert [open(m.path, 'rb').read() for m in mutants[:3]] == [
        mutate(open(m.source, 'rb').read(), m.seed, m.mutator)[0]
        for m in mutants[:3]]
    results = run_isolated([m.path for m in mutants], batch_size=12,
                           workers=2, timeout_s=20.0, decode_budget_s=10.0)
    assert [r.path for r in results] == [m.path for m in mutants]
    bugs = [f'{r.outcome} {Path(r.path).name}: {r.error_type} {r.message}'
            for r in results if r.outcome in BUG_OUTCOMES]
    assert not bugs, '\n'.join(bugs)
    counts = summarize(results)
    # Some mutants still read, others fail with documented CodecErrors.
    assert counts['ok'] > 0 and counts['codec_error'] > 0
    assert sum(counts.values()) == 45
    ok = [r for r in results if r.outcome == 'ok']
    assert all(r.facts['num_frames'] >= 1 for r in ok)
    assert all(r.error_type.endswith('Error') for r in results
               if r.outcome == 'codec_error')


TARGET = '''
import os, signal, sys, time
from mmcmd.codec import CompressedVideo

class InvalidOutputError(AssertionError):
    pass

def run(path, decode_budget_s):
    content = open(path, 'rb').read()
    if content == b'SEGV':
        os.kill(os.getpid(), signal.SIGSEGV)
    if content == b'HANG':
        time.sleep(60)
    if content == b'RAISE':
        raise KeyError('not documented')
    if content == b'WRONG':
        raise InvalidOutputError('rgb has the wrong shape')
    with CompressedVideo(path, decode_budget_s) as video:
        return dict(codec=video.codec_name, num_frames=video.num_frames,
                    heavy=[m for m in ('torch', 'mmengine', 'mmaction')
                           if m in sys.modules])
'''


def test_runner_charges_crash_hang_and_bugs_to_the_right_file(sources,
                                                              tmp_path):
    (tmp_path / 'target.py').write_text(TARGET)
    kinds = ['good', 'SEGV', 'good', 'HANG', 'RAISE', 'WRONG', 'empty']
    paths = []
    for number, kind in enumerate(kinds):
        path = tmp_path / f'{number}_{kind}.mp4'
        path.write_bytes(open(sources[0], 'rb').read() if kind == 'good'
                         else b'' if kind == 'empty' else kind.encode())
        paths.append(str(path))
    results = run_isolated(paths, target=f'{tmp_path / "target.py"}:run',
                           batch_size=len(paths), timeout_s=2.5)
    outcomes = [r.outcome for r in results]
    assert outcomes == ['ok', 'crash', 'ok', 'hang', 'exception', 'invalid',
                        'codec_error']
    assert 'SIGSEGV' in results[1].message
    assert 'KeyError' in results[4].message and results[4].error_type == (
        'KeyError')
    assert results[6].error_type == 'VideoOpenError'
    # The worker (the tool and mmcmd.codec) never imports torch or mmaction.
    assert results[0].facts == dict(codec='h264', num_frames=20, heavy=[])
    assert set(summarize(results)) == set(OUTCOMES)
    with pytest.raises(RuntimeError, match='before its first file'):
        run_isolated(paths[:1], target=f'{tmp_path / "target.py"}:absent')


def test_fuzz_reader_tool(sources, tmp_path, capsys):
    tool = fuzz
    out = tmp_path / 'fuzz.json'
    code = tool.main(['--fuzz', '10', '--seed', '5', '--videos', *sources[:2],
                      '--json', str(out), '--keep', str(tmp_path / 'm')])
    captured = capsys.readouterr()
    assert code == 0, captured.out
    report = json.loads(out.read_text())
    assert report['files'] == 10 and sum(report['summary'].values()) == 10
    assert report['command'][0] == 'tools/analysis/fuzz_reader.py'
    assert len(list((tmp_path / 'm').iterdir())) == 10
    assert {r['mutator'] for r in report['results']} <= set(MUTATORS)
    assert 'fuzzing' in captured.err and '10/10' in captured.err
    for outcome in OUTCOMES:
        assert f'{outcome:<12}{report["summary"][outcome]:>7}' in captured.out
    with pytest.raises(SystemExit):
        tool.main(['--fuzz', '0'])
