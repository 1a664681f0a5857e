from .bad_video_monitor_hook import BadVideoMonitorHook

__all__ = ['BadVideoMonitorHook']
