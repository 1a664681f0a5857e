"""Small utilities shared across mmcmd, and :func:`register_all_modules`."""
from .checkpoint import (
    CheckpointMismatchError,
    UnsafeCheckpointError,
    load_checkpoint_file,
    load_checkpoint_into,
    load_into,
    read_state_dict,
    select_backbone,
    select_prefix,
    unwrap_state_dict,
)
from .setup_env import register_all_modules

__all__ = [
    'CheckpointMismatchError', 'UnsafeCheckpointError', 'load_checkpoint_file',
    'load_checkpoint_into', 'load_into', 'read_state_dict',
    'register_all_modules', 'select_backbone', 'select_prefix',
    'unwrap_state_dict'
]
