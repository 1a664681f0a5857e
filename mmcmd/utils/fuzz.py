"""Mutation fuzzing of the video reader, each file run in a worker process.

:func:`mutate` damages the bytes of a valid video with one of
:data:`MUTATORS` (seeded, deterministic). :func:`run_isolated` runs a
target (by default :func:`exercise_reader`: open, index, decode RGB frames,
motion and a keyframe) on many files in worker processes, a batch per
process, and classifies each file's outcome (:data:`OUTCOMES`). A worker
that dies by a signal or stops answering is charged to the file it was
working on; that file is run again alone to confirm, and the rest of the
batch continues in a fresh worker.

The worker imports only :mod:`mmcmd.codec` (no torch, no mmaction), so it
starts in well under a second.
"""
from __future__ import annotations

import json
import os
import queue
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

#: every outcome; the last four are bugs of the reader.
OUTCOMES = ('ok', 'codec_error', 'exception', 'invalid', 'crash', 'hang')
#: outcomes that mean the reader misbehaved.
BUG_OUTCOMES = frozenset({'exception', 'invalid', 'crash', 'hang'})

DEFAULT_TARGET = 'mmcmd.utils.fuzz:exercise_reader'

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

    from mmcmd.codec import CompressedVideo
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
    """The function ``module:name`` or ``file.py:name``."""
    import importlib
    import importlib.util
    module_name, _, name = spec.rpartition(':')
    if module_name.endswith('.py'):
        loaded = importlib.util.spec_from_file_location(
            '_fuzz_target', module_name)
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    return getattr(module, name)


def _classify(error: BaseException) -> str:
    """Outcome of an exception raised by the target."""
    from mmcmd.codec import CodecError
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
    # The default target runs from this script, so mmcmd.utils (and with it
    # torch) is never imported.
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
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    env = dict(os.environ, MMCMD_NO_COMPAT='1', OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [package_root] + [p for p in [os.environ.get(
                       'PYTHONPATH')] if p]))
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


if __name__ == '__main__' and sys.argv[1:] == ['--worker']:
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(
            os.path.abspath(__file__)):
        sys.path.pop(0)  # this folder is not a top-level package root
    _worker_main()
