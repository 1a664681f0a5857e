"""mmcmd: Context and Motion Decoupling (CVPR 2021) as an MMAction2 plugin.

``import mmcmd`` alone is light: :mod:`mmcmd.codec` needs only PyAV and
numpy. The OpenMMLab side is set up by :func:`register_all_modules`
(:mod:`mmcmd.utils.setup_env`), which applies the upstream workarounds of
:mod:`mmcmd.compat` and then imports every subpackage, registering every
mmcmd component in MMAction2's registries. It runs by itself on
``import mmcmd`` when mmengine is already imported, which is always the
case for ``custom_imports=dict(imports=['mmcmd'])`` in a config (mmengine's
``Config`` does that import) and for the training tools.

Registration is one-way: this package and :mod:`mmcmd.utils.setup_env`
import the subpackages, no subpackage calls back. Importing one
OpenMMLab-facing subpackage (``mmcmd.datasets``, ``mmcmd.models``,
``mmcmd.engine``, ``mmcmd.evaluation``, ``mmcmd.apis``) applies
:mod:`mmcmd.compat` first (:mod:`mmcmd._openmmlab`) and registers that
subpackage's components only.

Call :func:`register_all_modules` yourself when a script imported ``mmcmd``
(or ``mmcmd.codec``) before any OpenMMLab module and builds from configs
later. ``MMCMD_NO_COMPAT=1`` turns both automatic steps off
(``tests/test_compat.py`` uses it to show each upstream failure); an
explicit call still does everything.
"""
import sys as _sys

from .version import __version__


def __getattr__(name: str):
    """``mmcmd.register_all_modules``, imported on first use (the import of
    :mod:`mmcmd.utils` loads torch, which ``import mmcmd`` does not)."""
    if name == 'register_all_modules':
        from .utils.setup_env import register_all_modules
        return register_all_modules
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


if 'mmengine' in _sys.modules:
    from .compat import automatic as _automatic
    if _automatic():
        from .utils.setup_env import register_all_modules
        register_all_modules(init_default_scope=False)

__all__ = ['__version__', 'register_all_modules']
