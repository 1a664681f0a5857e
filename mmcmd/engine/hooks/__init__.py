from .bad_video_monitor_hook import BadVideoMonitorHook
from .mlfo_schedule_hook import MLFOScheduleHook
from .pretrained_checkpoint_hook import PretrainedCheckpointHook

__all__ = ['BadVideoMonitorHook', 'MLFOScheduleHook',
           'PretrainedCheckpointHook']
