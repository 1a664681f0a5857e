"""Small utilities shared across mmcmd."""
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

__all__ = [
    'CheckpointMismatchError', 'UnsafeCheckpointError', 'load_checkpoint_file',
    'load_checkpoint_into', 'load_into', 'read_state_dict', 'select_backbone',
    'select_prefix', 'unwrap_state_dict'
]
