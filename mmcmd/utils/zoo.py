"""The model zoo as the library reads it: metafiles, checkpoint files and
their comparison with the listed numbers.

``tools/analysis/benchmark_regression.py`` re-measures what the metafiles
list with these functions. Publishing (stripping a checkpoint, naming it by
its SHA-256, writing metafile entries) is a tool's work:
``tools/deployment/publishing.py``, behind
``tools/deployment/publish_model.py`` and ``tools/demo.py --publish``.

A metafile follows OpenMMLab's layout (``Collections`` / ``Models`` with
``Name``, ``Config``, ``Metadata``, ``Results``, ``Weights``). ``Results``
hold only numbers this code produced with the listed ``Weights``; each
result names the config it was measured with (``Test Config``) and its
``Metrics`` are in percent.
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
import platform
import re
import subprocess
from typing import List, Mapping, Optional, Sequence

import torch

from .checkpoint import load_checkpoint_file, unwrap_state_dict

#: allowed |listed - measured| in points when no tolerance is given.
DEFAULT_TOLERANCE = 0.5
#: the ``-<8 hex digits>.pth`` end of a published file's name.
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8})\.pth$')


class ZooError(RuntimeError):
    """A zoo file is missing, corrupt or does not match its listing."""


# ------------------------------------------------------ files, provenance
def sha256_file(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def git_commit(repo: str) -> str:
    """``git rev-parse HEAD`` of ``repo``, or ``'unknown'``."""
    try:
        out = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=repo,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else 'unknown'


def machine_description() -> str:
    """CPU architecture, core count, GPU (if any), torch and Python."""
    gpu = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
           else 'no GPU')
    return (f'{platform.machine()}, {os.cpu_count()} CPU cores, {gpu}, '
            f'torch {torch.__version__}, Python {platform.python_version()}')


# ------------------------------------------------------------ metafiles
def load_metafile(path: str) -> dict:
    """The parsed metafile (``{}`` for an empty file)."""
    import yaml
    with open(path) as file:
        return yaml.safe_load(file) or {}


def find_metafiles(root: str) -> List[str]:
    """Every ``metafile.yml`` under ``root``, sorted."""
    found = []
    for folder, _, files in os.walk(root):
        found += [osp.join(folder, f) for f in files if f == 'metafile.yml']
    return sorted(found)


def list_models(paths: Sequence[str]) -> List[dict]:
    """The ``Models`` of every metafile; each gets ``_metafile`` (its file).

    Raises:
        ZooError: two models share a Name.
    """
    models, seen = [], {}
    for path in paths:
        for model in load_metafile(path).get('Models') or []:
            name = model.get('Name')
            if name in seen:
                raise ZooError(f'model {name!r} is listed in {seen[name]} '
                               f'and {path}')
            seen[name] = path
            models.append(dict(model, _metafile=path))
    return models


# ---------------------------------------------------- regression checks
def resolve_weights(weights: str, root: Optional[str]) -> str:
    """Local path of a model's ``Weights``: a URL is looked up in torch's
    hub cache (``<hub dir>/checkpoints/<file name>``, never downloaded);
    a relative path is taken under ``root``."""
    if re.match(r'^[a-z]+://', weights):
        return osp.join(torch.hub.get_dir(), 'checkpoints',
                        osp.basename(weights.split('?')[0]))
    if osp.isabs(weights) or root is None:
        return weights
    return osp.join(root, weights)


def verify_checkpoint(path: str, sha256: Optional[str] = None) -> dict:
    """Check a zoo file and return its tensors.

    The SHA-256 must start with the 8 hex digits of a ``-xxxxxxxx.pth``
    name and equal ``sha256`` when given; the file must load weights-only.

    Raises:
        ZooError: missing, hash mismatch or unreadable (the message says
            which).
    """
    if not osp.isfile(path):
        raise ZooError(f'missing: {path}')
    digest = None
    match = HASH_IN_NAME.search(osp.basename(path))
    if match or sha256:
        digest = sha256_file(path)
    if match and not digest.startswith(match.group(1)):
        raise ZooError(f'corrupt: sha256 of {path} is {digest[:8]}..., its '
                       f'name says {match.group(1)}')
    if sha256 and digest != sha256:
        raise ZooError(f'corrupt: sha256 of {path} is {digest}, the '
                       f'metafile lists {sha256}')
    try:
        return unwrap_state_dict(load_checkpoint_file(path), path)
    except Exception as error:  # any unreadable file is a corrupt file
        raise ZooError(f'corrupt: {path} does not load: '
                       f'{type(error).__name__}: {error}') from error


def compare_metrics(listed: Mapping[str, float],
                    measured: Mapping[str, float],
                    tolerances: Optional[Mapping[str, float]] = None
                    ) -> List[dict]:
    """One row per listed metric: ``metric``, ``listed``, ``measured``
    (None when not measured), ``tolerance``, ``ok``."""
    tolerances = tolerances or {}
    rows = []
    for metric, value in listed.items():
        tol = float(tolerances.get(metric, tolerances.get(
            'default', DEFAULT_TOLERANCE)))
        got = measured.get(metric)
        ok = got is not None and abs(float(got) - float(value)) <= tol
        rows.append(dict(metric=metric, listed=float(value),
                         measured=None if got is None else float(got),
                         tolerance=tol, ok=bool(ok)))
    return rows
