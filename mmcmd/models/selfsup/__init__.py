"""Self-supervisors."""
from .base import BaseClipModel, BaseSelfSupervisor
from .cmd import CMD
from .dsm import DSM, DSMTriplet
from .mlfo import MLFO
from .official_keys import (
                            OFFICIAL_TO_MMCMD,
                            mmcmd_to_official_key,
                            official_to_mmcmd_key,
                            official_to_mmcmd_state_dict,
)
from .rgb_contrast import RGBContrast

__all__ = ['BaseClipModel', 'BaseSelfSupervisor', 'CMD', 'DSM', 'DSMTriplet',
           'MLFO', 'OFFICIAL_TO_MMCMD', 'mmcmd_to_official_key',
           'official_to_mmcmd_key', 'official_to_mmcmd_state_dict',
           'RGBContrast']
