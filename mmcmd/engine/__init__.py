"""Registered engine components (hooks)."""
from .. import _openmmlab  # noqa: F401  (compat first)
from .hooks import (
                    BadVideoMonitorHook,
                    MLFOScheduleHook,
                    PretrainedCheckpointHook,
)

__all__ = ['BadVideoMonitorHook', 'MLFOScheduleHook',
           'PretrainedCheckpointHook']
