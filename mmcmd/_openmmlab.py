"""Imported first by each OpenMMLab-facing subpackage (datasets, models,
engine, evaluation, apis): applies :mod:`mmcmd.compat` and registers every
module (:func:`mmcmd.register_all_modules`) before the subpackage imports
anything from mmengine or mmaction2. ``MMCMD_NO_COMPAT=1`` skips it.
"""
from . import _automatic, register_all_modules

if _automatic():
    register_all_modules(init_default_scope=False)
