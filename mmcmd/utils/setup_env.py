"""Registration of every mmcmd component, as mmaction2's
``mmaction/utils/setup_env.py``.

One way only: this module imports the subpackages (which register their
components into MMAction2's registries as they are imported); no
subpackage imports it back.
"""
from __future__ import annotations


def register_all_modules(init_default_scope: bool = True) -> None:
    """Apply :mod:`mmcmd.compat`, then register mmaction2's and mmcmd's
    modules in MMAction2's registries (idempotent).

    Args:
        init_default_scope (bool): Also make ``'mmaction'`` the current
            default scope, as ``mmaction.utils.register_all_modules`` does
            (mmcmd registers into MMAction2's registries). Defaults to True.
    """
    from .. import compat
    compat.apply_all()
    # mmaction2's own components first, so a name clash fails here, loudly.
    import mmaction.datasets  # noqa: F401
    import mmaction.evaluation  # noqa: F401
    import mmaction.models  # noqa: F401

    from .. import datasets, engine, evaluation, models  # noqa: F401
    from ..models import embedders, frozen  # noqa: F401
    if init_default_scope:
        from mmengine.registry import init_default_scope as init_scope
        init_scope('mmaction')
