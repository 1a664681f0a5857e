"""State dicts of checkpoint files: unwrap, pick the backbone, check."""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

StateDict = Dict[str, torch.Tensor]
Shapes = Mapping[str, Sequence[int]]


class CheckpointMismatchError(KeyError):
    """A checkpoint's tensors do not match the model (names or shapes)."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ''


def unwrap_state_dict(obj: object, path: str) -> StateDict:
    """The tensor dict of a loaded checkpoint, DDP ``module.`` prefix removed.

    Accepts a bare state dict, ``{'state_dict': ...}`` (mmengine) or
    ``{'model': ...}``.
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


def select_backbone(state: StateDict, path: str) -> Tuple[StateDict, str]:
    """(backbone tensors without prefix, the prefix found or '').

    Keys under ``backbone.`` (Recognizer3D, CMD) or ``rgb_backbone.`` (the
    official CMD pretraining checkpoint) are selected; a dict with neither is
    taken as a bare backbone state dict (ModelScope ``pytorch_model.pt``).
    """
    for prefix in ('backbone.', 'rgb_backbone.'):
        selected = {k[len(prefix):]: v for k, v in state.items()
                    if k.startswith(prefix)}
        if selected:
            return selected, prefix
    return dict(state), ''


def _few(names: Sequence[str], count: int = 5) -> str:
    shown = ', '.join(repr(n) for n in list(names)[:count])
    more = len(names) - count
    return shown + (f' (+{more} more)' if more > 0 else '')


def check_state_dict(state: Mapping[str, torch.Tensor], expected: Shapes,
                     path: str, what: str,
                     allow_missing: Sequence[str] = ()) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` has exactly the
    names and shapes of ``expected`` (names ending in ``allow_missing``
    suffixes may be absent)."""
    missing = [k for k in expected if k not in state
               and not k.endswith(tuple(allow_missing))]
    unexpected = [k for k in state if k not in expected]
    wrong = [f'{k}: checkpoint {tuple(state[k].shape)} vs model '
             f'{tuple(expected[k])}' for k in state
             if k in expected and tuple(state[k].shape) != tuple(expected[k])]
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing: {_few(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected: {_few(unexpected)}')
    if wrong:
        problems.append(f'{len(wrong)} with other shapes: {_few(wrong, 3)}')
    if problems:
        raise CheckpointMismatchError(
            f'{path!r} does not match {what}: ' + '; '.join(problems) +
            '. Check that the config builds the architecture the checkpoint '
            'was trained with (type, depth, base_channels).')


def model_shapes(model: nn.Module) -> Dict[str, Tuple[int, ...]]:
    """Name -> shape of every tensor of ``model.state_dict()``."""
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def load_strict(model: nn.Module, state: StateDict, path: str,
                what: Optional[str] = None) -> None:
    """Load ``state`` into ``model``; every name and shape must match.

    Only ``num_batches_tracked`` buffers may be absent (older checkpoints).
    """
    what = what or type(model).__name__
    check_state_dict(state, model_shapes(model), path, what,
                     allow_missing=('num_batches_tracked', ))
    model.load_state_dict(state, strict=False)
