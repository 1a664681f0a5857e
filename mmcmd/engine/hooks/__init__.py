from .bad_video_monitor_hook import BadVideoMonitorHook
from .pretrained_checkpoint_hook import PretrainedCheckpointHook

__all__ = ['BadVideoMonitorHook', 'PretrainedCheckpointHook']
