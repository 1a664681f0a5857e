"""Small utilities shared across mmcmd."""
from .checkpoint import UnsafeCheckpointError, load_checkpoint_file

__all__ = ['UnsafeCheckpointError', 'load_checkpoint_file']
