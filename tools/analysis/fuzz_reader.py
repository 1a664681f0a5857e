"""Fuzz the compressed-domain reader with mutated copies of valid videos.

Each mutant (bytes flipped, cut, duplicated, zeroed or swapped; seeded) is
opened, indexed and decoded (RGB frames, keyframe, motion) in a worker
process with a time limit. Outcomes:

  ok           read fine
  codec_error  a documented mmcmd.codec exception (CodecError subclass)
  exception    any other Python exception            (a reader bug)
  invalid      output breaking the documented shapes  (a reader bug)
  crash        the worker died by a signal            (a reader bug)
  hang         no result within --timeout seconds     (a reader bug)

Each worker process runs a batch of files; one that dies by a signal or
stops answering is charged to the file in flight, which is run again alone
to confirm, and the batch goes on in a fresh worker. Workers import only
mmcmd.codec (PyAV + numpy), so they start in well under a second. The
functions (mutate, write_mutants, run_isolated, ...) are importable for
tests; run_isolated takes any target ``module:function`` or
``file.py:function`` called as ``function(path, decode_budget_s)``.

Without --videos, four small test videos are generated (H.264 with
B-frames in MP4, H.264 B-pyramid in MKV, MPEG-4 Part 2 in AVI, MPEG-2 in
MPEG-PS). Exit status: 0 when no bug was seen, 1 otherwise, 2 for bad
arguments.

Example:
    python tools/analysis/fuzz_reader.py --fuzz 1000 --seed 0 --workers 2 \\
        --json fuzz.json
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import os.path as osp
import platform
import queue
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from mmcmd.codec import CodecError, CompressedVideo

#: every outcome; the last four are bugs of the reader.
OUTCOMES = ('ok', 'codec_error', 'exception', 'invalid', 'crash', 'hang')
#: outcomes that mean the reader misbehaved.
BUG_OUTCOMES = frozenset({'exception', 'invalid', 'crash', 'hang'})

#: the target run when none is given: :func:`exercise_reader` of this file.
DEFAULT_TARGET = 'exercise_reader'

Mutator = Callable[[bytes, np.random.Generator], bytes]


# ---------------------------------------------------------------- mutators
def _chunk(size: int, rng: np.random.Generator) -> Tuple[int, int]:
    """(offset, length) of a random chunk of at most 1/16 of ``size`` bytes."""
    length = int(rng.integers(1, max(2, min(size // 16, 65536) + 1)))
    length = min(length, size)
    return int(rng.integers(0, size - length + 1)), length


def flip_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    """XOR 1-16 bytes at random offsets with random non-zero values."""
    out = bytearray(data)
    if not out:
        return bytes(out)
    count = int(rng.integers(1, 17))
    for offset in rng.integers(0, len(out), count):
        out[int(offset)] ^= int(rng.integers(1, 256))
    return bytes(out)


def truncate(data: bytes, rng: np.random.Generator) -> bytes:
    """Cut the file at a random point (keeping at least one byte)."""
    return data[:int(rng.integers(1, max(len(data), 2)))]


def duplicate_chunk(data: bytes, rng: np.random.Generator) -> bytes:
    """Insert a copy of a random chunk at a random offset."""
    if not data:
        return data
    offset, length = _chunk(len(data), rng)
    where = int(rng.integers(0, len(data) + 1))
    return data[:where] + data[offset:offset + length] + data[where:]


def zero_range(data: bytes, rng: np.random.Generator) -> bytes:
    """Overwrite a random chunk with zero bytes."""
    if not data:
        return data
    offset, length = _chunk(len(data), rng)
    return data[:offset] + bytes(length) + data[offset + length:]


def swap_chunks(data: bytes, rng: np.random.Generator) -> bytes:
    """Exchange two non-overlapping random chunks of equal length."""
    if len(data) < 2:
        return data
    _, length = _chunk(len(data) // 2, rng)
    first = int(rng.integers(0, len(data) - 2 * length + 1))
    second = int(rng.integers(first + length, len(data) - length + 1))
    return (data[:first] + data[second:second + length]
            + data[first + length:second] + data[first:first + length]
            + data[second + length:])


#: name -> mutator; each takes the bytes and a numpy Generator.
MUTATORS: Dict[str, Mutator] = {
    'flip_bytes': flip_bytes,
    'truncate': truncate,
    'duplicate_chunk': duplicate_chunk,
    'zero_range': zero_range,
    'swap_chunks': swap_chunks,
}


def mutate(data: bytes, seed: Sequence[int], mutator: Optional[str] = None
           ) -> Tuple[bytes, str]:
    """Damage ``data`` deterministically; return (bytes, mutator name).

    ``seed`` (an int or a sequence of ints) fixes both the mutator, when
    ``mutator`` is None, and where it strikes.
    """
    rng = np.random.default_rng(seed)
    names = sorted(MUTATORS)
    name = mutator or names[int(rng.integers(len(names)))]
    if name not in MUTATORS:
        raise ValueError(f'unknown mutator {name!r}; choose from {names}')
    return MUTATORS[name](data, rng), name


@dataclass(frozen=True)
class Mutant:
    """A mutated copy of a source video and how it was made."""

    path: str
    source: str
    mutator: str
    seed: Tuple[int, int]


def write_mutants(sources: Sequence[str], count: int, out_dir: str,
                  seed: int = 0, mutators: Optional[Sequence[str]] = None
                  ) -> List[Mutant]:
    """Write ``count`` mutants of ``sources`` (round robin) into ``out_dir``.

    Mutant ``i`` is made from source ``i % len(sources)`` with seed
    ``(seed, i)`` and mutator ``mutators[i % len(mutators)]`` (random when
    None), so any single mutant can be made again from its seed.
    """
    if not sources:
        raise ValueError('write_mutants needs at least one source video')
    os.makedirs(out_dir, exist_ok=True)
    contents = [open(path, 'rb').read() for path in sources]
    mutants = []
    for i in range(count):
        which = i % len(sources)
        name = mutators[i % len(mutators)] if mutators else None
        data, name = mutate(contents[which], (seed, i), name)
        stem, ext = os.path.splitext(os.path.basename(sources[which]))
        path = os.path.join(out_dir, f'{stem}_{i:05d}_{name}{ext}')
        with open(path, 'wb') as f:
            f.write(data)
        mutants.append(Mutant(path, sources[which], name, (seed, i)))
    return mutants


# ---------------------------------------------------------------- target
class InvalidOutputError(AssertionError):
    """The reader returned data that breaks its documented contract."""


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise InvalidOutputError(what)


def exercise_reader(path: str, decode_budget_s: float = 10.0) -> Dict:
    """Open, index and decode RGB, keyframe and motion; check the shapes.

    Returns facts about the file; raises what the reader raises, or
    :class:`InvalidOutputError` when an output breaks the contract.
    """
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with CompressedVideo(path, decode_budget_s=decode_budget_s) as video:
            count, height, width = video.num_frames, video.height, video.width
            _expect(count >= 1 and height >= 1 and width >= 1,
                    f'{count} frames of {width}x{height}')
            index = video.index
            # Frames before the first keyframe (damaged head) have no GOP of
            # their own; every later frame's GOP starts at or before it.
            after = np.arange(count) >= (index.keyframes[0]
                                         if index.keyframes.size else count)
            _expect(bool(np.all(np.diff(index.keyframes) > 0))
                    and bool(np.isin(index.gop_start, index.keyframes).all())
                    and bool(np.all(index.gop_start[after]
                                    <= np.arange(count)[after])),
                    'keyframes unsorted or a GOP starting after its frame')
            picks = sorted({0, count // 2, count - 1})
            out = video.decode(rgb=picks, keyframes=[count - 1])
            _expect(out.rgb.shape == (len(picks), height, width, 3)
                    and out.rgb.dtype == np.uint8,
                    f'rgb {out.rgb.shape} {out.rgb.dtype}')
            _expect(out.keyframes.shape == (1, height, width, 3),
                    f'keyframes {out.keyframes.shape}')
            facts = dict(codec=video.codec_name, num_frames=count)
            if video.has_motion_vectors:
                frames = list(range(max(count - 4, 0), count))
                motion, mask = video.read_motion(frames)
                grid = (-(-height // 4), -(-width // 4))
                _expect(motion.shape == (len(frames), 2) + grid
                        and mask.shape == (len(frames),) + grid,
                        f'motion {motion.shape}, mask {mask.shape}')
                _expect(bool(np.isfinite(motion).all()),
                        'non-finite motion values')
                _expect(not motion[~np.stack([mask, mask], 1)].any(),
                        'motion where the mask is False')
    return facts


# ---------------------------------------------------------------- results
@dataclass
class FuzzResult:
    """What running the target on one file gave."""

    path: str
    outcome: str
    error_type: str = ''
    message: str = ''
    seconds: float = 0.0
    facts: Optional[Dict] = None

    def to_dict(self) -> Dict:
        """Plain dict (for JSON)."""
        return asdict(self)


def summarize(results: Iterable[FuzzResult]) -> Dict[str, int]:
    """Count of results per outcome, every outcome listed."""
    counts = Counter(r.outcome for r in results)
    return {name: counts.get(name, 0) for name in OUTCOMES}


# ---------------------------------------------------------------- worker
def _load_target(spec: str) -> Callable:
    """The function ``module:name`` or ``file.py:name`` (a file of the
    user's, run with :func:`runpy.run_path`)."""
    module_name, _, name = spec.rpartition(':')
    if module_name.endswith('.py'):
        namespace = runpy.run_path(module_name, run_name='_fuzz_target')
    else:
        namespace = vars(importlib.import_module(module_name))
    if name not in namespace:
        raise AttributeError(f'{module_name} has no function {name!r}')
    return namespace[name]


def _classify(error: BaseException) -> str:
    """Outcome of an exception raised by the target."""
    if any(kind.__name__ == 'InvalidOutputError'
           for kind in type(error).__mro__):  # also a target's own class
        return 'invalid'
    return 'codec_error' if isinstance(error, CodecError) else 'exception'


def _worker_main() -> None:
    """Run the target on paths read from stdin; report JSON lines."""
    import faulthandler
    import traceback
    job = json.loads(sys.stdin.readline())
    protocol = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)  # library prints go to stderr, not into the protocol
    faulthandler.enable()
    if job.get('memory_limit_mb'):
        import resource
        limit = int(job['memory_limit_mb']) << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # The default target needs mmcmd.codec only (PyAV + numpy, no torch).
    target = (exercise_reader if job['target'] == DEFAULT_TARGET
              else _load_target(job['target']))
    for number, path in enumerate(job['paths']):
        protocol.write(json.dumps({'start': number}) + '\n')
        start = time.perf_counter()
        result = FuzzResult(path, 'ok')
        try:
            result.facts = target(path, job['decode_budget_s'])
        except Exception as error:  # classified, never re-raised
            result.outcome = _classify(error)
            result.error_type = type(error).__name__
            result.message = str(error)[:500]
            if result.outcome == 'exception':
                result.message = traceback.format_exc()[-2000:]
        result.seconds = time.perf_counter() - start
        protocol.write(json.dumps({'result': result.to_dict()}) + '\n')


# ---------------------------------------------------------------- runner
@dataclass
class _Batch:
    """Settings shared by every worker process of one run."""

    target: str
    timeout_s: float
    startup_s: float
    decode_budget_s: float
    memory_limit_mb: Optional[int]


def _describe_exit(returncode: Optional[int]) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f'killed by {signal.Signals(-returncode).name}'
        except ValueError:
            return f'killed by signal {-returncode}'
    return f'exited with status {returncode} without a result'


def _run_worker(paths: List[str], batch: _Batch
                ) -> Tuple[List[FuzzResult], Optional[FuzzResult]]:
    """Run one worker on ``paths``; (finished results, failed one or None).

    The failed result (crash or hang) belongs to the file in flight; the
    caller re-runs the files after it.
    """
    env = dict(os.environ, OMP_NUM_THREADS='1')
    job = dict(paths=paths, target=batch.target,
               decode_budget_s=batch.decode_budget_s,
               memory_limit_mb=batch.memory_limit_mb)
    with tempfile.TemporaryFile() as errors:
        worker = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--worker'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
            env=env)
        lines: 'queue.Queue[Optional[bytes]]' = queue.Queue()

        def pump() -> None:
            for line in worker.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        worker.stdin.write((json.dumps(job) + '\n').encode())
        worker.stdin.close()
        done: List[FuzzResult] = []
        in_flight: Optional[int] = None
        started = time.perf_counter()
        failure: Optional[FuzzResult] = None
        while len(done) < len(paths):
            limit = batch.timeout_s + (batch.startup_s if in_flight is None
                                       and not done else 0.0)
            try:
                line = lines.get(timeout=limit)
            except queue.Empty:
                worker.kill()
                number = len(done) if in_flight is None else in_flight
                failure = FuzzResult(
                    paths[number], 'hang', 'Timeout',
                    f'no result within {batch.timeout_s:g} s',
                    time.perf_counter() - started)
                break
            if line is None:
                worker.wait()
                errors.seek(0)
                tail = errors.read().decode(errors='replace')[-1500:]
                if in_flight is None and not done:  # not a file's fault
                    raise RuntimeError(
                        f'the fuzz worker died before its first file '
                        f'({_describe_exit(worker.returncode)}); check the '
                        f'target {batch.target!r}; stderr: {tail}')
                number = len(done) if in_flight is None else in_flight
                failure = FuzzResult(
                    paths[number], 'crash', 'WorkerDied',
                    f'{_describe_exit(worker.returncode)}; stderr: {tail}',
                    time.perf_counter() - started)
                break
            message = json.loads(line)
            if 'start' in message:
                in_flight, started = message['start'], time.perf_counter()
            else:
                done.append(FuzzResult(**message['result']))
                in_flight = None
        worker.wait()
    return done, failure


def _run_batch(paths: List[str], batch: _Batch,
               report: Callable[[FuzzResult], None]) -> List[FuzzResult]:
    """All results of ``paths``, re-running after a crash or a hang."""
    results: List[FuzzResult] = []
    pending = list(paths)
    while pending:
        done, failure = _run_worker(pending, batch)
        for result in done:
            report(result)
        results.extend(done)
        if failure is None:
            break
        if len(pending) > 1:  # confirm alone, away from the batch's state
            alone, again = _run_worker([failure.path], batch)
            if again is None:
                failure.message += (f'; alone it gave {alone[0].outcome} '
                                    '(fails only after other files)')
        report(failure)
        results.append(failure)
        pending = pending[len(done) + 1:]
    return results


def run_isolated(paths: Sequence[str], target: str = DEFAULT_TARGET,
                 batch_size: int = 16, workers: int = 1,
                 timeout_s: float = 30.0, decode_budget_s: float = 10.0,
                 memory_limit_mb: Optional[int] = 4096,
                 startup_s: float = 60.0,
                 progress: Optional[Callable[[FuzzResult], None]] = None
                 ) -> List[FuzzResult]:
    """Run ``target`` on every path in worker processes; results in order.

    ``target`` is ``module:function`` or ``file.py:function`` called as
    ``function(path, decode_budget_s)``. A file taking more than
    ``timeout_s`` seconds is a hang; ``workers`` batches run at once;
    ``memory_limit_mb`` caps each worker's address space (None: no cap);
    ``progress`` is called once per finished file.
    """
    batch = _Batch(target, timeout_s, startup_s, decode_budget_s,
                   memory_limit_mb)
    lock = threading.Lock()

    def report(result: FuzzResult) -> None:
        if progress is not None:
            with lock:
                progress(result)

    chunks = [list(paths[i:i + batch_size])
              for i in range(0, len(paths), batch_size)]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        parts = list(pool.map(lambda c: _run_batch(c, batch, report), chunks))
    by_path = {r.path: r for part in parts for r in part}
    return [by_path[p] for p in paths]


# ---------------------------------------------------------------- the tool
#: name -> (file name, write_panning_video keyword arguments).
SEED_VIDEOS = {
    'h264_bframes': ('h264_bframes.mp4',
                     dict(codec='h264', gop=10, bframes=2)),
    'h264_pyramid': ('h264_pyramid.mkv',
                     dict(codec='h264', gop=12, bframes=3, refs=3,
                          pyramid=True)),
    'mpeg4': ('mpeg4.avi', dict(codec='mpeg4', gop=8)),
    'mpeg2': ('mpeg2.mpg', dict(codec='mpeg2video', gop=6, bframes=2)),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--fuzz', type=int, required=True, metavar='N',
                        help='number of mutated files to run')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the mutations (default 0)')
    parser.add_argument('--workers', type=int, default=1,
                        help='worker processes at once (default 1)')
    parser.add_argument('--videos', nargs='+', metavar='VIDEO',
                        help='valid videos to mutate (default: generated)')
    parser.add_argument('--mutators', nargs='+', choices=sorted(MUTATORS),
                        help='mutators used in turn (default: random)')
    parser.add_argument('--json', help='write the summary and every result '
                        'here')
    parser.add_argument('--keep', metavar='DIR', help='write the mutants '
                        'into DIR and keep them (default: a temporary '
                        'folder; any mutant can be made again from its '
                        'seed)')
    parser.add_argument('--batch-size', type=int, default=16,
                        help='files per worker process (default 16)')
    parser.add_argument('--timeout', type=float, default=30.0,
                        help='seconds per file before it counts as a hang')
    parser.add_argument('--budget', type=float, default=10.0,
                        help="the reader's decode_budget_s (seconds)")
    args = parser.parse_args(argv)
    if args.fuzz < 1 or args.workers < 1 or args.batch_size < 1:
        parser.error('--fuzz, --workers and --batch-size must be >= 1')
    for video in args.videos or ():
        if not osp.isfile(video):
            parser.error(f'no such video: {video}')
    return args


def write_seed_videos(out_dir: str) -> List[str]:
    """Write the default valid videos (96x64, 30 frames); return paths."""
    from mmcmd.codec.samples import write_panning_video
    return [write_panning_video(osp.join(out_dir, name), size=(96, 64),
                                frames=30, motion=(1.5, -1.0), **kwargs)
            for name, kwargs in SEED_VIDEOS.values()]


def summary_table(results: List[FuzzResult], mutators: Dict[str, str]
                  ) -> str:
    """Counts per outcome (rows) and per mutator (columns), as text."""
    names = sorted(set(mutators.values()))
    cells = Counter((r.outcome, mutators[r.path]) for r in results)
    total = summarize(results)
    header = f'{"outcome":<12}{"count":>7}{"share":>8}  ' + ''.join(
        f'{n:>16}' for n in names)
    lines = [header, '-' * len(header)]
    for outcome in OUTCOMES:
        share = total[outcome] / max(len(results), 1)
        lines.append(f'{outcome:<12}{total[outcome]:>7}{share:>8.1%}  '
                     + ''.join(f'{cells[outcome, n]:>16}' for n in names))
    errors = Counter(r.error_type for r in results
                     if r.outcome == 'codec_error')
    lines.append('codec errors: ' + ', '.join(
        f'{k} {v}' for k, v in errors.most_common()))
    return '\n'.join(lines)


def machine_info() -> Dict:
    """Python, platform and library versions of this run."""
    import av
    import numpy
    return dict(python=platform.python_version(), machine=platform.machine(),
                processor=platform.processor(), cpus=os.cpu_count(),
                av=av.__version__, numpy=numpy.__version__)


def main(argv: Optional[List[str]] = None) -> int:
    from tqdm import tqdm
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='fuzz_reader_') as scratch:
        sources = args.videos or write_seed_videos(scratch)
        mutants = write_mutants(sources, args.fuzz,
                                args.keep or osp.join(scratch, 'mutants'),
                                seed=args.seed, mutators=args.mutators)
        by_path = {m.path: m for m in mutants}
        start = time.perf_counter()
        with tqdm(total=len(mutants), desc='fuzzing', unit='file') as bar:
            results = run_isolated(
                [m.path for m in mutants], batch_size=args.batch_size,
                workers=args.workers, timeout_s=args.timeout,
                decode_budget_s=args.budget, progress=lambda r: bar.update())
        wall_s = time.perf_counter() - start
    mutator_of = {p: m.mutator for p, m in by_path.items()}
    print(summary_table(results, mutator_of))
    print(f'{len(results)} files in {wall_s:.1f} s with {args.workers} '
          f'worker(s) ({wall_s / len(results) * 1000:.1f} ms per file)')
    bugs = [r for r in results if r.outcome in BUG_OUTCOMES]
    for result in bugs[:20]:
        mutant = by_path[result.path]
        print(f'  BUG {result.outcome}: {osp.basename(result.path)} '
              f'(source {mutant.source}, seed {list(mutant.seed)}, '
              f'{mutant.mutator}): {result.error_type} '
              f'{result.message.strip().splitlines()[-1:]}')
    if args.json:
        rows = []
        for result in results:
            mutant = by_path[result.path]
            rows.append(dict(result.to_dict(), source=mutant.source,
                             mutator=mutant.mutator, seed=list(mutant.seed)))
        with open(args.json, 'w') as f:
            json.dump(dict(command=['tools/analysis/fuzz_reader.py']
                           + list(argv if argv is not None else sys.argv[1:]),
                           seed=args.seed, files=len(results),
                           workers=args.workers, wall_s=round(wall_s, 2),
                           summary=summarize(results),
                           machine=machine_info(), results=rows), f,
                      indent=1)
    return 1 if bugs else 0


if __name__ == '__main__':
    if sys.argv[1:] == ['--worker']:  # a worker process of run_isolated
        _worker_main()
    else:
        sys.exit(main())
