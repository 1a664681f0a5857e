"""The one place that reads checkpoint files and loads their tensors.

Every loader of mmcmd goes through here: backbone ``init_cfg`` of type
``Pretrained``, :func:`mmcmd.apis.init_embedder`, the converters and
``publish_model.py`` under ``tools/``, and (through :mod:`mmcmd.compat`)
mmengine's own ``load_checkpoint`` / ``--resume``. The steps:

1. :func:`load_checkpoint_file` reads a file with ``weights_only=True``
   (always; :class:`UnsafeCheckpointError` refuses a crafted file and names
   it and the object it needs, :class:`NotACheckpointError` a file that is
   no checkpoint). :func:`mmengine_checkpoint_safe_globals` is the
   allow-list of the non-tensor types mmengine's Runner saves; the function
   adds it itself, whether or not mmengine was imported.
2. :func:`unwrap_state_dict` finds the tensors (``state_dict`` / ``model``
   wrappers, DDP ``module.`` prefix).
3. :func:`select_prefix` / :func:`select_backbone` pick a sub-module's keys.
4. :func:`load_into` loads them strictly (names and shapes equal) or
   leniently (extra tensors ignored) and returns a summary that
   :func:`format_load_summary` writes as one line.
"""
from __future__ import annotations

import os
import pickle
import re
import zipfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import nn

StateDict = Dict[str, torch.Tensor]
Shapes = Mapping[str, Sequence[int]]
PathLike = Union[str, os.PathLike]

#: buffers older checkpoints may lack; never counted as missing.
OPTIONAL_SUFFIXES = ('num_batches_tracked', )


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the weights-only allow-list.

    Such a file could run code when unpickled, so it is never loaded. The
    message names the object the allow-list lacks (``posix.system``,
    ``mymodule.MyClass``) in full.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f'Refused to load checkpoint {path!r}: it contains objects that '
            'torch.load(weights_only=True) does not allow, so unpickling it '
            'could run code. Load only checkpoints you trust; if this one '
            'is yours, re-save its state_dict with plain tensors. '
            f'Details: {unsafe_detail(reason)}')


class NotACheckpointError(ValueError):
    """A file that is no checkpoint torch.save wrote (text, a video, a
    truncated or damaged file)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f'{path!r} is not a checkpoint ({reason}); give a .pth file '
            'written by torch.save, e.g. work_dirs/<config>/epoch_N.pth of '
            'tools/train.py.')


class CheckpointMismatchError(KeyError):
    """A checkpoint's tensors do not match the model (names or shapes)."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ''


# --------------------------------------------------------------- reading


def mmengine_checkpoint_safe_globals() -> list:
    """The non-tensor types that checkpoints saved by mmengine's Runner hold.

    The message hub keeps :class:`mmengine.logging.HistoryBuffer` objects of
    numpy arrays, and runtime info holds numpy scalars and dtypes. Nothing
    else is allowed: classes that could run code stay refused. Pass the list
    to ``torch.serialization.add_safe_globals`` (what
    :func:`mmcmd.compat.allow_mmengine_checkpoints_with_weights_only` does).
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    multiarray = getattr(np, '_core', None) or np.core
    allowed: list = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        multiarray.multiarray._reconstruct,
        multiarray.multiarray.scalar,
    ]
    # numpy>=1.25 pickles dtypes as instances of per-type classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            obj = getattr(dtypes, name)
            if isinstance(obj, type) and issubclass(obj, np.dtype):
                allowed.append(obj)
    allowed.append((_history_buffer_method, 'builtins.getattr'))
    return allowed


def _history_buffer_method(owner: type, name: str):
    """``getattr`` restricted to HistoryBuffer's statistics methods.

    HistoryBuffer pickles its ``statistics_methods`` dict as
    ``getattr(HistoryBuffer, 'mean')`` and so on. Allowing the real
    ``getattr`` would let a crafted checkpoint reach any attribute, so the
    unpickler gets this function under that name instead.
    """
    from mmengine.logging import HistoryBuffer
    if owner is HistoryBuffer and name in ('min', 'max', 'current', 'mean'):
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')


#: what torch's weights-only unpickler says when a file needs a global
#: (class or function) outside the allow-list; group 1 is its full name.
UNSAFE_PATTERNS = (
    re.compile(r'GLOBAL (\S+) was not an allowed global'),
    re.compile(r'unsupported GLOBAL (\S+) whose module'),
    re.compile(r'reduce for unrecognized function (.+?)(?: which belongs|$)',
               re.M),
    re.compile(r'classes allowlisted via `add_safe_globals` but got (.+)$',
               re.M),
)
#: first bytes of a pickle of protocol 2 or later (torch.save before 1.6)
PICKLE_START = (b'\x80\x02', b'\x80\x03', b'\x80\x04', b'\x80\x05')


def unsafe_detail(reason: str) -> str:
    """One line from torch's weights-only refusal: the global it met, named
    in full (``needs posix.system, which the allow-list lacks``), or the
    error line when there is no such name."""
    for pattern in UNSAFE_PATTERNS:
        match = pattern.search(reason)
        if match:
            return (f'the file needs {match.group(1).strip()}, which the '
                    'allow-list lacks')
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    marked = [line.split('WeightsUnpickler error:', 1)[1].strip()
              for line in lines if 'WeightsUnpickler error:' in line]
    return next((line for line in marked if line),
                lines[-1] if lines else '')


def is_unsafe_refusal(reason: str) -> bool:
    """Whether a weights-only error is a refused global (not a broken
    file)."""
    return any(p.search(reason) for p in UNSAFE_PATTERNS)


def checkpoint_format(path: str) -> Optional[str]:
    """``'zip'`` (torch>=1.6), ``'pickle'`` (older torch.save) or None when
    the first bytes are neither."""
    with open(path, 'rb') as file:
        start = file.read(4)
    if start == b'PK\x03\x04' or zipfile.is_zipfile(path):
        return 'zip'  # a truncated zip fails later, as a damaged one
    return 'pickle' if start[:2] in PICKLE_START else None


def allow_mmengine_globals() -> bool:
    """Add :func:`mmengine_checkpoint_safe_globals` to torch's weights-only
    allow-list (idempotent); False on torch<2.4, which has no allow-list
    and loads everything. :func:`load_checkpoint_file` calls it, so a tool
    that reads checkpoints without importing mmengine first reads what
    mmengine's CheckpointHook writes all the same."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(mmengine_checkpoint_safe_globals())
    return True


def load_checkpoint_file(path: PathLike, map_location: Any = 'cpu',
                         hint: str = '') -> Any:
    """Load a checkpoint file with ``weights_only=True``.

    The allow-list is :func:`mmengine_checkpoint_safe_globals` (what
    mmengine's Runner saves); weights-only loading is never turned off.

    Args:
        path: the file.
        map_location: as for ``torch.load``.
        hint: appended to the message when the file does not exist (what
            option to fix).

    Raises:
        FileNotFoundError: the file does not exist.
        NotACheckpointError: the file is no torch.save file, or a damaged
            one (text, a video, truncated).
        UnsafeCheckpointError: the file holds objects outside the
            allow-list (the message names them).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Checkpoint not found: {path!r}'
                                + (f'; {hint}' if hint else ''))
    kind = checkpoint_format(path)
    if kind is None:
        raise NotACheckpointError(
            path, 'neither the zip archive nor the pickle that torch.save '
            'writes')
    allow_mmengine_globals()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if is_unsafe_refusal(str(error)):
            raise UnsafeCheckpointError(path, str(error)) from error
        raise NotACheckpointError(
            path, f'damaged {kind} file: {unsafe_detail(str(error))}'
        ) from error
    except (EOFError, KeyError, IndexError, RuntimeError, ValueError,
            zipfile.BadZipFile) as error:
        if isinstance(error, RuntimeError) and not is_damaged_zip(error):
            raise  # e.g. a CUDA map_location on a machine without CUDA
        raise NotACheckpointError(
            path, f'damaged {kind} file: {type(error).__name__}: {error}'
        ) from error


def is_damaged_zip(error: RuntimeError) -> bool:
    """Whether torch's zip reader failed (a truncated or damaged file)."""
    return 'PytorchStreamReader' in str(error) or 'zip archive' in str(error)


# ------------------------------------------------------ state dicts, keys


def unwrap_state_dict(obj: object, path: str = '<checkpoint>') -> StateDict:
    """The tensor dict of a loaded checkpoint, DDP ``module.`` prefix removed.

    Accepts a bare state dict, ``{'state_dict': ...}`` (mmengine) or
    ``{'model': ...}``; entries that are not tensors are dropped.
    """
    state = obj
    if isinstance(obj, Mapping):
        for key in ('state_dict', 'model'):
            if isinstance(obj.get(key), Mapping):
                state = obj[key]
                break
    if not isinstance(state, Mapping) or not state:
        raise TypeError(f'{path!r} holds no state dict (got '
                        f'{type(state).__name__}); expected a dict of '
                        "tensors, or one under 'state_dict' or 'model'.")
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise TypeError(f'{path!r}: its state dict holds no tensors.')
    if all(k.startswith('module.') for k in tensors):
        tensors = {k[len('module.'):]: v for k, v in tensors.items()}
    return tensors


def select_prefix(state: Mapping[str, torch.Tensor], prefix: str,
                  path: str = 'the checkpoint',
                  hint: str = 'fix init_cfg.prefix (e.g. "backbone.")'
                  ) -> StateDict:
    """The tensors whose keys start with ``prefix``, prefix removed.

    ``prefix`` gets a trailing dot if it lacks one; '' selects everything.

    Raises:
        CheckpointMismatchError: no key starts with ``prefix`` (the message
            names ``path`` and ends with ``hint``).
    """
    if not prefix:
        return dict(state)
    if not prefix.endswith('.'):
        prefix += '.'
    selected = {k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix)}
    if not selected:
        raise CheckpointMismatchError(
            f'No key of {path!r} starts with {prefix!r}; {hint}.')
    return selected


def select_backbone(state: Mapping[str, torch.Tensor], path: str = ''
                    ) -> Tuple[StateDict, str]:
    """(backbone tensors without prefix, the prefix found or '').

    Keys under ``backbone.`` (Recognizer3D, CMD, VideoEmbedder) or
    ``rgb_backbone.`` (the official CMD pretraining checkpoint) are
    selected; a dict with neither is taken as a bare backbone state dict
    (ModelScope ``pytorch_model.pt``).
    """
    for prefix in ('backbone.', 'rgb_backbone.'):
        if any(k.startswith(prefix) for k in state):
            return select_prefix(state, prefix, path), prefix
    return dict(state), ''


def read_state_dict(checkpoint: PathLike, prefix: str = '',
                    hint: str = '') -> StateDict:
    """Tensors of a checkpoint file whose keys start with ``prefix``,
    without it (weights-only read, then :func:`unwrap_state_dict`)."""
    path = os.fspath(checkpoint)
    state = unwrap_state_dict(load_checkpoint_file(path, hint=hint), path)
    return select_prefix(state, prefix, path)


# ------------------------------------------------------------- loading


def rename_keys(state: Dict[str, Any], key_map: Mapping[str, str],
                prefix: str = '') -> List[Tuple[str, str]]:
    """Rename the keys of ``state`` in place from an old->new ``key_map``.

    An entry whose old name ends with ``'.'`` renames every key starting
    with it (a prefix), any other entry one key exactly; the longest match
    wins. Only keys under ``prefix`` (a module's place in a larger state
    dict) are considered, and both names are taken relative to it. A key
    whose new name is already present is left alone (the newer tensor
    wins; the old one stays, unexpected). Returns the (old, new) pairs
    renamed.
    """
    entries = sorted(key_map.items(), key=lambda item: len(item[0]),
                     reverse=True)
    renamed = []
    for key in [k for k in state if k.startswith(prefix)]:
        local = key[len(prefix):]
        for old, new in entries:
            exact = not old.endswith('.')
            if (local == old) if exact else local.startswith(old):
                target = prefix + new + ('' if exact else local[len(old):])
                if target not in state:
                    state[target] = state.pop(key)
                    renamed.append((key, target))
                break
    return renamed


def upgrade_state_dict(module: nn.Module, state: Mapping[str, Any],
                       prefix: str = '') -> Dict[str, Any]:
    """A copy of ``state`` with the old key names of ``module`` renamed to
    today's by its ``upgrade_legacy_state(state, prefix)`` (e.g. a
    self-supervisor whose projection moved into a neck: its
    ``legacy_key_map()`` through :func:`rename_keys`); a plain copy when the
    module has none. Models apply it themselves when loaded with
    ``load_state_dict``; :func:`load_into` applies it before checking
    names and shapes."""
    state = dict(state)
    upgrade = getattr(module, 'upgrade_legacy_state', None)
    if upgrade is not None:
        upgrade(state, prefix)
    return state


def model_shapes(model: nn.Module) -> Dict[str, Tuple[int, ...]]:
    """Name -> shape of every tensor of ``model.state_dict()``."""
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _few(names: Sequence[str], count: int = 5) -> str:
    shown = ', '.join(repr(n) for n in list(names)[:count])
    more = len(names) - count
    return shown + (f' (+{more} more)' if more > 0 else '')


def check_state_dict(state: Mapping[str, torch.Tensor], expected: Shapes,
                     path: str, what: str,
                     allow_missing: Sequence[str] = (),
                     allow_unexpected: bool = False) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` has the names
    and shapes of ``expected``.

    The policy of every loader of mmcmd, in one place: each tensor of the
    model must be in the checkpoint with its shape (the one-line message
    says how many of the model's tensors fit and lists what is missing,
    unexpected or of another shape).

    Args:
        state: the checkpoint's tensors.
        expected: name -> shape of the model (:func:`model_shapes`).
        path: the file, for the message.
        what: the model, for the message.
        allow_missing: names ending in one of these suffixes may be absent.
        allow_unexpected: names the model lacks are not an error.
    """
    fit = fitting_keys(state, expected)
    missing = [k for k in expected if k not in state
               and not k.endswith(tuple(allow_missing))]
    unexpected = [] if allow_unexpected else \
        [k for k in state if k not in expected]
    wrong = [f'{k}: checkpoint {tuple(state[k].shape)} vs model '
             f'{tuple(expected[k])}' for k in state
             if k in expected and tuple(state[k].shape) != tuple(expected[k])]
    problems = [f'{len(fit)} of {len(expected)} of its tensors fit']
    if missing:
        problems.append(f'{len(missing)} missing: {_few(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected: {_few(unexpected)}')
    if wrong:
        problems.append(f'{len(wrong)} with other shapes: {_few(wrong, 3)}')
    if len(problems) > 1:
        raise CheckpointMismatchError(
            f'{path!r} does not match {what}: ' + '; '.join(problems) +
            '. Check that the config builds the architecture the checkpoint '
            'was trained with (type, depth, base_channels) and the key '
            'prefix it reads.')


def fitting_keys(state: Mapping[str, torch.Tensor], expected: Shapes
                 ) -> List[str]:
    """The names of ``expected`` that ``state`` holds with that shape (what
    really loads)."""
    return [k for k in expected if k in state
            and tuple(state[k].shape) == tuple(expected[k])]


def check_model_checkpoint(model: nn.Module, checkpoint: object, path: str,
                           what: Optional[str] = None) -> dict:
    """Refuse a checkpoint that does not fill ``model``, before it loads.

    What ``tools/test.py`` (and any run that evaluates a loaded checkpoint)
    applies, with :func:`check_state_dict`, the policy of
    :func:`mmcmd.apis.init_embedder` and of backbone ``Pretrained`` loads:
    every tensor of the model (all of them, 100%; ``num_batches_tracked``
    may be absent) must be in the checkpoint with its shape. Tensors the
    model lacks (a classification head on a retrieval config, the motion
    branch of a CMD pretraining checkpoint) are ignored and counted.

    Args:
        model: the model the config evaluates.
        checkpoint: what ``torch.load`` returned (a state dict, or one
            under ``state_dict`` / ``model``).
        path: the file, for the messages.
        what: the model in messages; ``the <class> of the config`` by
            default.

    Returns:
        The :func:`load_summary` dict of what loads (tensors of the file
        whose name and shape the model has).

    Raises:
        CheckpointMismatchError: a tensor of the model is missing or has
            another shape; the message is one line.
    """
    state = unwrap_state_dict(checkpoint, path)
    expected = model_shapes(model)
    check_state_dict(state, expected, path,
                     what or f'the {type(model).__name__} of the config',
                     allow_missing=OPTIONAL_SUFFIXES, allow_unexpected=True)
    return load_summary(list(state), '', fitting_keys(state, expected))


def group_keys(keys: Sequence[str], prefix: str = '') -> List[str]:
    """Keys shortened to groups: ``motion_backbone.*``, ``backbone.fc.*``.

    A key is grouped by its first component after ``prefix`` (when it
    starts with ``prefix``) or by its first component; a group of one key
    without further components shows the key itself. Sorted.
    """
    groups: Dict[str, List[str]] = {}
    for key in keys:
        head = prefix if prefix and key.startswith(prefix) else ''
        parts = key[len(head):].split('.', 1)
        name = head + parts[0]
        groups.setdefault(name, []).append(key)
    return sorted(name if members == [name] else f'{name}.*'
                  for name, members in groups.items())


def load_summary(checkpoint_keys: Sequence[str], prefix: str,
                 loaded_keys: Sequence[str]) -> dict:
    """What loading ``prefix``-keys of a checkpoint into a module did.

    Args:
        checkpoint_keys: every key of the checkpoint's state dict.
        prefix: the prefix selected (e.g. ``'backbone.'``).
        loaded_keys: the keys (prefix removed) the module took.

    Returns:
        ``dict(loaded=N, total=M, ignored=K, ignored_groups=[...])``: N of
        the M tensors of the file went into the module, K = M - N did not;
        ``ignored_groups`` names them as :func:`group_keys` does.
    """
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    taken = {prefix + key for key in loaded_keys}
    ignored = [key for key in checkpoint_keys if key not in taken]
    return dict(loaded=len(checkpoint_keys) - len(ignored),
                total=len(checkpoint_keys), ignored=len(ignored),
                ignored_groups=group_keys(ignored, prefix))


def format_load_summary(summary: dict, checkpoint: str,
                        target: str = 'backbone', max_groups: int = 6) -> str:
    """``loaded N of M tensors of FILE into backbone (K ignored: ...)``."""
    line = (f'loaded {summary["loaded"]} of {summary["total"]} tensors of '
            f'{checkpoint} into {target}')
    if summary['ignored']:
        groups = summary['ignored_groups']
        shown = ', '.join(groups[:max_groups] +
                          (['...'] if len(groups) > max_groups else []))
        line += f' ({summary["ignored"]} ignored: {shown})'
    return line


def load_into(module: nn.Module, state: Mapping[str, torch.Tensor],
              path: str, strict: bool = True, what: Optional[str] = None,
              checkpoint_keys: Optional[Sequence[str]] = None,
              prefix: str = '') -> dict:
    """Load ``state`` into ``module`` after checking names and shapes.

    Args:
        module: the target.
        state: tensors named as in ``module.state_dict()``.
        path: the checkpoint file, for messages and the summary.
        strict: True: every name and shape must equal the module's. False:
            every tensor of the module must be present with its shape,
            tensors the module lacks are ignored (and counted). Either way
            ``num_batches_tracked`` buffers may be absent (older files).
        what: the module in messages; its class name by default.
        checkpoint_keys: every key of the file, for the summary; the keys
            of ``state`` under ``prefix`` by default.
        prefix: the prefix ``state`` was selected with.

    Returns:
        The :func:`load_summary` dict; :func:`format_load_summary` writes
        it as one line.

    Raises:
        CheckpointMismatchError: names or shapes differ; nothing is loaded.
    """
    what = what or type(module).__name__
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    state = upgrade_state_dict(module, state)
    expected = model_shapes(module)
    check_state_dict(state, expected, path, what,
                     allow_missing=OPTIONAL_SUFFIXES,
                     allow_unexpected=not strict)
    taken = {k: v for k, v in state.items() if k in expected}
    module.load_state_dict(taken, strict=False)
    if checkpoint_keys is None:
        checkpoint_keys = [prefix + k for k in state]
    return load_summary(list(checkpoint_keys), prefix, list(taken))


def load_checkpoint_into(module: nn.Module, checkpoint: PathLike,
                         prefix: str = '', strict: bool = True,
                         what: Optional[str] = None, hint: str = '') -> dict:
    """Read ``checkpoint`` (weights only), select ``prefix``, load into
    ``module`` (see :func:`load_into`); return the load summary."""
    path = os.fspath(checkpoint)
    full = unwrap_state_dict(load_checkpoint_file(path, hint=hint), path)
    state = select_prefix(full, prefix, path)
    return load_into(module, state, path, strict=strict, what=what,
                     checkpoint_keys=list(full), prefix=prefix)
