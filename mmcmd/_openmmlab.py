"""Imported first by each OpenMMLab-facing subpackage (datasets, models,
engine, evaluation, apis): applies :mod:`mmcmd.compat` before the
subpackage imports anything from mmengine or mmaction2. It registers
nothing beyond what the importing subpackage defines (registration of
everything is :func:`mmcmd.utils.setup_env.register_all_modules`, which
imports the subpackages, never the other way round). ``MMCMD_NO_COMPAT=1``
skips it.
"""
from .compat import apply_all, automatic

if automatic():
    apply_all()
