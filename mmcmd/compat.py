"""Workarounds for upstream packaging bugs of the OpenMMLab stack.

Every function here fixes one upstream problem, names it, and is applied once
by :func:`apply_all`, which :func:`mmcmd.register_all_modules` calls before
anything OpenMMLab is imported (so on ``custom_imports=['mmcmd']``), as does
the import of any OpenMMLab-facing subpackage (through
:mod:`mmcmd._openmmlab`; see :mod:`mmcmd`). Importing this
module applies nothing. Each fix has a test in ``tests/test_compat.py`` that
fails without it. When an upstream fix lands, delete the function and its
line in :data:`FIXES`.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
import types
from typing import Callable, List

_APPLIED: List[str] = []


def provide_importlib_metadata() -> bool:
    """Alias the stdlib ``importlib.metadata`` as ``importlib_metadata``.

    mmaction2 1.2.0 (``mmaction/utils/dependency.py``) imports the backport
    ``importlib_metadata`` without declaring it in its
    install_requires (undeclared dependency in the 1.2.0 wheel metadata).
    The stdlib module has the two names it uses.
    """
    try:
        import importlib_metadata  # noqa: F401
        return False
    except ImportError:
        sys.modules['importlib_metadata'] = importlib.metadata
        return True


class _MissingDRN:
    """Stands in for mmaction2's DRN localizer, absent from its 1.2.0 wheel."""

    def __init__(self, *args, **kwargs) -> None:
        raise ImportError(
            'DRN is missing from the mmaction2 1.2.0 wheel '
            '(open-mmlab/mmaction2#2714); install mmaction2 from its git '
            'repository to use it.')


def provide_missing_drn() -> bool:
    """Make ``import mmaction.models`` work despite the missing DRN package.

    The mmaction2 1.2.0 wheel does not ship ``mmaction/models/localizers/drn``
    but ``localizers/__init__.py`` imports it (open-mmlab/mmaction2#2714), so
    ``import mmaction.models`` raises ModuleNotFoundError. We register an empty
    package whose ``DRN`` raises a clear error only when someone builds it.
    """
    import os.path as osp
    name = 'mmaction.models.localizers.drn'
    if name in sys.modules:
        return False
    # Look on disk: find_spec() would import mmaction.models, which fails.
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False
    root = list(spec.submodule_search_locations)[0]
    if osp.isdir(osp.join(root, 'models', 'localizers', 'drn')):
        return False
    package = types.ModuleType(name)
    package.__path__ = []  # type: ignore[attr-defined]
    package.__spec__ = importlib.machinery.ModuleSpec(
        name, loader=None, is_package=True)
    module = types.ModuleType(name + '.drn')
    module.__spec__ = importlib.machinery.ModuleSpec(name + '.drn', None)
    module.DRN = _MissingDRN  # type: ignore[attr-defined]
    package.drn = module  # type: ignore[attr-defined]
    sys.modules[name] = package
    sys.modules[name + '.drn'] = module
    return True


def _distribution_location(package: str) -> str:
    """Directory holding the files of an installed distribution."""
    dist = importlib.metadata.distribution(package)
    return str(dist.locate_file(''))


def _is_installed(package: str) -> bool:
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def _get_installed_path(package: str) -> str:
    import os.path as osp
    try:
        location = _distribution_location(package)
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise
        return osp.dirname(spec.origin)
    possible = osp.join(location, package)
    if osp.exists(possible):
        return possible
    dist = importlib.metadata.distribution(package)
    top_level = (dist.read_text('top_level.txt') or '').split()
    if not top_level:
        raise ValueError(f'can not infer the module name of {package}')
    return osp.join(location, top_level[0])


def replace_pkg_resources_in_mmengine() -> bool:
    """Resolve ``mmaction::`` config bases without ``pkg_resources``.

    mmengine 0.10.7 finds installed packages with ``pkg_resources``, which
    setuptools>=82 no longer ships (pypa/setuptools#5174; mmengine
    0.10.7 ``mmengine/utils/package_utils.py``), so every config
    with an ``mmaction::`` base fails with ModuleNotFoundError. When
    ``pkg_resources`` cannot be imported, answer the same questions with the
    stdlib ``importlib.metadata``.
    """
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            import pkg_resources  # noqa: F401
        return False
    except ImportError:
        pass
    import mmengine.config.config as config_module
    import mmengine.config.utils as config_utils
    import mmengine.utils as utils
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils, config_utils, config_module):
        if hasattr(module, 'is_installed'):
            module.is_installed = _is_installed
        if hasattr(module, 'get_installed_path'):
            module.get_installed_path = _get_installed_path
    return True


def allow_mmengine_checkpoints_with_weights_only() -> bool:
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

    torch>=2.6 loads with ``weights_only=True`` by default, and checkpoints
    that mmengine 0.10.7 saves fail in ``--resume``, ``tools/test.py`` and
    ``load_checkpoint`` (open-mmlab/mmengine#1655, #1650). We allow-list exactly the
    types such checkpoints contain
    (:func:`mmcmd.utils.checkpoint.mmengine_checkpoint_safe_globals`);
    weights-only loading stays on, so a checkpoint crafted to run code is
    still refused.
    """
    from .utils.checkpoint import allow_mmengine_globals
    return allow_mmengine_globals()


def silence_mmcv_lite_ops_warning() -> bool:
    """Hide mmcv-lite's warning about its missing compiled ops.

    mmcv-lite has no ``mmcv.ops``; importing mmaction2 makes
    ``mmcv.cnn.bricks.transformer`` warn that MultiScaleDeformableAttention
    is unavailable. mmcmd never uses it, so the warning only confuses users.
    """
    import warnings
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    return True


def refuse_unsafe_checkpoints_clearly() -> bool:
    """Make mmengine's local checkpoint loader fail with a clear message.

    mmengine 0.10.7's ``load_from_local`` calls ``torch.load`` without
    ``weights_only`` (torch>=2.6 defaults it to True). A crafted file is
    then refused with a long pickle error that names no file. We load with
    ``weights_only=True`` explicitly and raise
    :class:`mmcmd.utils.UnsafeCheckpointError`, which names the file.
    """
    import os.path as osp

    from mmengine.runner.checkpoint import CheckpointLoader

    from .utils.checkpoint import load_checkpoint_file

    def load_from_local(filename: str, map_location=None):
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f'{filename} can not be found.')
        return load_checkpoint_file(filename, map_location=map_location)

    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    return True


def _cuda_missing() -> bool:
    import torch
    return not torch.cuda.is_available()


def allow_cpu_pytorch_launcher() -> bool:
    """Let ``--launcher pytorch`` start on machines without CUDA.

    mmengine 0.10.7's ``_init_dist_pytorch`` always calls
    ``torch.cuda.set_device`` (AttributeError on CPU builds of torch) and
    its configs default to the NCCL backend, which needs GPUs. Without CUDA
    we skip the device call and use gloo; with CUDA nothing changes.
    Set ``MMCMD_DIST_BACKEND`` to force a backend.
    """
    import os

    import mmengine.dist.utils as dist_utils
    import torch.distributed as torch_dist
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_mmcmd_patched', False):
        return False

    def init_dist_pytorch(backend: str = 'nccl', init_backend: str = 'torch',
                          **kwargs) -> None:
        backend = os.environ.get('MMCMD_DIST_BACKEND', backend)
        if not _cuda_missing():
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        torch_dist.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch._mmcmd_patched = True  # type: ignore[attr-defined]
    dist_utils._init_dist_pytorch = init_dist_pytorch
    return True


def allow_cpu_ddp() -> bool:
    """Drop GPU device ids when mmengine wraps a CPU model in DDP.

    mmengine 0.10.7's Runner always passes ``device_ids=[LOCAL_RANK]`` to
    MMDistributedDataParallel; torch refuses device ids for CPU modules.
    """
    from mmengine.model import MMDistributedDataParallel
    original = MMDistributedDataParallel.__init__
    if getattr(original, '_mmcmd_patched', False):
        return False

    def __init__(self, module, detect_anomalous_params: bool = False,
                 **kwargs) -> None:
        params = list(module.parameters())
        if params and params[0].device.type == 'cpu':
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        original(self, module=module,
                 detect_anomalous_params=detect_anomalous_params, **kwargs)

    __init__._mmcmd_patched = True  # type: ignore[attr-defined]
    MMDistributedDataParallel.__init__ = __init__
    return True


def silence_pkg_resources_deprecation() -> bool:
    """Hide setuptools' deprecation warning for mmengine's pkg_resources use.

    mmengine 0.10.7 imports ``pkg_resources`` each time it resolves an
    ``mmaction::`` config base; setuptools 81 warns about it every time.
    The import is mmengine's, not the user's, so the warning is noise.
    """
    import warnings
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    return True


def skip_multimodal_with_transformers_5() -> bool:
    """Keep ``import mmaction.models`` working next to transformers >= 5.

    mmaction2 1.2.0 imports its multimodal models (VindLU) whenever
    ``transformers>=4.28.0`` is installed
    (``mmaction/utils/dependency.py``: ``WITH_MULTIMODAL``), and they import
    ``apply_chunking_to_forward`` from ``transformers.modeling_utils``,
    which transformers 5 removed: ``import mmaction.models`` then raises
    ImportError although no video model needs transformers. With
    transformers 5 or newer we mark the multimodal extra as absent, so
    mmaction registers its placeholders (which explain the missing
    dependency when someone builds a VindLU model) instead.
    """
    try:
        version = importlib.metadata.version('transformers')
    except importlib.metadata.PackageNotFoundError:
        return False
    try:
        major = int(version.split('.')[0])
    except ValueError:
        return False
    if major < 5:
        return False
    import mmaction.utils.dependency as dependency
    if not dependency.WITH_MULTIMODAL:
        return False
    dependency.WITH_MULTIMODAL = False
    return True


FIXES: List[Callable[[], bool]] = [
    silence_mmcv_lite_ops_warning,
    silence_pkg_resources_deprecation,
    provide_importlib_metadata,
    provide_missing_drn,
    skip_multimodal_with_transformers_5,
    replace_pkg_resources_in_mmengine,
    allow_mmengine_checkpoints_with_weights_only,
    refuse_unsafe_checkpoints_clearly,
    allow_cpu_pytorch_launcher,
    allow_cpu_ddp,
]


def automatic() -> bool:
    """Whether imports apply the workarounds (and ``import mmcmd`` after
    mmengine registers everything) by themselves: yes unless the
    environment sets ``MMCMD_NO_COMPAT=1``."""
    return os.environ.get('MMCMD_NO_COMPAT') != '1'


def apply_all() -> List[str]:
    """Apply every workaround once; return the names of those that acted."""
    if not _APPLIED:
        _APPLIED.append('<applied>')
        for fix in FIXES:
            if fix():
                _APPLIED.append(fix.__name__)
    return _APPLIED[1:]
