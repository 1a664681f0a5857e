"""Registered engine components (hooks)."""
from .. import _openmmlab  # noqa: F401  (compat and registration first)
from .hooks import (
                    BadVideoMonitorHook,
                    MLFOScheduleHook,
                    PretrainedCheckpointHook,
)

__all__ = ['BadVideoMonitorHook', 'MLFOScheduleHook',
           'PretrainedCheckpointHook']
