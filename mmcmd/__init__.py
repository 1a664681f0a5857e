"""mmcmd: Context and Motion Decoupling (CVPR 2021) as an MMAction2 plugin.

``import mmcmd`` alone is light: :mod:`mmcmd.codec` needs only PyAV and
numpy. The OpenMMLab side is set up by :func:`register_all_modules`, which
applies the upstream workarounds of :mod:`mmcmd.compat` and then registers
every mmcmd component in MMAction2's registries. It runs by itself:

- on ``import mmcmd`` when mmengine is already imported, which is always the
  case for ``custom_imports=dict(imports=['mmcmd'])`` in a config (mmengine's
  ``Config`` does that import) and for the training tools;
- on the import of any OpenMMLab-facing subpackage (``mmcmd.datasets``,
  ``mmcmd.models``, ``mmcmd.engine``, ``mmcmd.evaluation``, ``mmcmd.apis``).

Call it yourself when a script imported ``mmcmd`` (or ``mmcmd.codec``) before
any OpenMMLab module and builds from configs later. ``MMCMD_NO_COMPAT=1``
turns both automatic steps off (``tests/test_compat.py`` uses it to show
each upstream failure); an explicit call still does everything.
"""
import os as _os
import sys as _sys

from .version import __version__

_STATE = {'registered': False, 'running': False}


def register_all_modules(init_default_scope: bool = True) -> None:
    """Apply :mod:`mmcmd.compat`, then register mmaction2's and mmcmd's
    modules in MMAction2's registries (idempotent).

    Args:
        init_default_scope (bool): Also make ``'mmaction'`` the current
            default scope, as ``mmaction.utils.register_all_modules`` does
            (mmcmd registers into MMAction2's registries). Defaults to True.
    """
    if not (_STATE['registered'] or _STATE['running']):
        _STATE['running'] = True  # subpackages call back in while importing
        try:
            from . import compat
            compat.apply_all()
            # mmaction2's own components first, so a name clash fails here,
            # loudly.
            import mmaction.datasets  # noqa: F401
            import mmaction.evaluation  # noqa: F401
            import mmaction.models  # noqa: F401

            from . import datasets, engine, evaluation, models  # noqa: F401
            from .models import embedders, frozen  # noqa: F401
            _STATE['registered'] = True
        finally:
            _STATE['running'] = False
    if init_default_scope:
        from mmengine.registry import init_default_scope as init_scope
        init_scope('mmaction')


def _automatic() -> bool:
    """Whether imports set up the OpenMMLab side (no ``MMCMD_NO_COMPAT=1``)."""
    return _os.environ.get('MMCMD_NO_COMPAT') != '1'


if 'mmengine' in _sys.modules and _automatic():
    register_all_modules(init_default_scope=False)

__all__ = ['__version__', 'register_all_modules']
