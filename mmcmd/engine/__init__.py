"""Registered engine components (hooks)."""
from .. import _openmmlab  # noqa: F401  (compat and registration first)
from .hooks import BadVideoMonitorHook, PretrainedCheckpointHook

__all__ = ['BadVideoMonitorHook', 'PretrainedCheckpointHook']
