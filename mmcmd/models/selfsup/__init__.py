"""Self-supervisors."""
from .base import (
                            BaseSelfSupervisor,
                            final_map,
                            global_pool,
                            probe_output_shapes,
)
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

__all__ = ['BaseSelfSupervisor', 'CMD', 'DSM', 'DSMTriplet', 'MLFO',
           'OFFICIAL_TO_MMCMD',
           'final_map',
           'global_pool', 'mmcmd_to_official_key',
           'official_to_mmcmd_key', 'official_to_mmcmd_state_dict',
           'probe_output_shapes', 'RGBContrast']
