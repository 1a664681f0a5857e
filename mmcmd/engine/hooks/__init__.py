from .bad_video_monitor_hook import BadVideoMonitorHook
from .checkpoint_fit_hook import CheckpointFitHook
from .mlfo_schedule_hook import MLFOScheduleHook
from .pretrained_checkpoint_hook import PretrainedCheckpointHook
from .runtime_info_hook import DeferredRuntimeInfoHook

__all__ = ['BadVideoMonitorHook', 'CheckpointFitHook',
           'DeferredRuntimeInfoHook', 'MLFOScheduleHook',
           'PretrainedCheckpointHook']
