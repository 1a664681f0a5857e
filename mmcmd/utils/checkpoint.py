"""Weights-only checkpoint loading with a clear refusal for unsafe files."""
from __future__ import annotations

import os
import pickle
from typing import Any, Union

import torch


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the weights-only allow-list.

    Such a file could run code when unpickled, so it is never loaded.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f'Refused to load checkpoint {path!r}: it contains objects that '
            'torch.load(weights_only=True) does not allow, so unpickling it '
            'could run code. Load only checkpoints you trust; if this one '
            'is yours, re-save its state_dict with plain tensors. '
            f'Details: {reason.strip().splitlines()[0] if reason else ""}')


def load_checkpoint_file(path: Union[str, os.PathLike],
                         map_location: Any = 'cpu') -> Any:
    """Load a checkpoint file with ``weights_only=True``.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file holds objects outside the allow-list.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Checkpoint not found: {path!r}')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(path, str(error)) from error
