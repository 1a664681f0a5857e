"""mmcmd: Context and Motion Decoupling (CVPR 2021) as an MMAction2 plugin.

Importing the package applies the upstream workarounds of
:mod:`mmcmd.compat` (unless ``MMCMD_NO_COMPAT=1``) and registers every mmcmd component in MMAction2's
registries (``custom_imports=dict(imports=['mmcmd'])`` in a config).
"""
import os as _os

from . import compat

if _os.environ.get('MMCMD_NO_COMPAT') != '1':  # tests switch it off
    compat.apply_all()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
