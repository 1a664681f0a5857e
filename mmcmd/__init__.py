"""mmcmd: Context and Motion Decoupling (CVPR 2021) as an MMAction2 plugin.

Importing the package applies the upstream workarounds of
:mod:`mmcmd.compat` and registers every mmcmd component in MMAction2's
registries (``custom_imports=dict(imports=['mmcmd'])`` in a config).
``MMCMD_NO_COMPAT=1`` skips both (the compat tests use it to show each
upstream failure).
"""
import os as _os

from . import compat
from .version import __version__

if _os.environ.get('MMCMD_NO_COMPAT') != '1':
    compat.apply_all()
    # mmaction2's own components first, so a name clash fails here, loudly.
    import mmaction.datasets  # noqa: F401
    import mmaction.evaluation  # noqa: F401
    import mmaction.models  # noqa: F401

    from . import datasets, engine, evaluation, models  # noqa: F401
    from .models import embedders, frozen  # noqa: F401

__all__ = ['__version__']
