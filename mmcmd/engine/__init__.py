"""Registered engine components (hooks)."""
from .hooks import BadVideoMonitorHook

__all__ = ['BadVideoMonitorHook']
