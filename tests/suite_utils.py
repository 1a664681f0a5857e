"""Helpers shared by the suite: tiny real videos, running and importing the
tools.

Imported as ``from suite_utils import ...`` (a unique module name: several
test folders have a conftest.py of their own).
"""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

import mmcmd
from mmcmd.codec.encode import write_frames

# mmcmd.codec alone keeps mmcmd light (no mmengine, no registration); the
# suite builds models, transforms and datasets from configs, so it loads the
# plugin's OpenMMLab side once, as custom_imports=['mmcmd'] does.
mmcmd.register_all_modules(init_default_scope=False)

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def write_test_video(path: str, num_frames: int = 24, size=(48, 32),
                     seed: int = 0, codec: str = 'h264',
                     fps: int = 25) -> np.ndarray:
    """Write a small textured H.264 video whose content moves 1 px/frame
    (:func:`mmcmd.codec.encode.write_frames`, GOP 12, no B-frames).

    Returns the RGB frames that were encoded, (T, H, W, 3) uint8.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height, width + num_frames, 3),
                           dtype=np.uint8)
    frames = np.stack([texture[:, t:t + width] for t in range(num_frames)])
    write_frames(path, frames, codec=codec, fps=fps)
    return frames


def load_tool(relpath: str) -> types.ModuleType:
    """Import a script of the repository (``'tools/demo.py'``) as a module,
    so a test can call its functions; it is registered in ``sys.modules``
    as ``tool_<file stem>`` (dataclasses and pickling look it up there)."""
    path = REPO_ROOT / relpath
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no such tool script')
    name = 'tool_' + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def make_tiny_dataset(root: Path, num_classes: int = 3,
                      per_class: int = 2) -> Path:
    """Create ``root/data/tiny`` with videos and train/val annotation files."""
    data = root / 'data' / 'tiny'
    lines = []
    for label in range(num_classes):
        for i in range(per_class):
            name = f'class{label}/video{i}.mp4'
            write_test_video(str(data / 'videos' / name),
                             seed=label * 100 + i)
            lines.append(f'{name} {label}')
    (data / 'train.txt').write_text('\n'.join(lines) + '\n')
    (data / 'val.txt').write_text('\n'.join(lines[::2]) + '\n')
    return data


def run_tool(args, cwd, timeout=300, env=None) -> subprocess.CompletedProcess:
    """Run a command of the project with the checkout on PYTHONPATH."""
    full_env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    full_env.update(env or {})
    return subprocess.run([str(a) for a in args], cwd=str(cwd),
                          capture_output=True, text=True, timeout=timeout,
                          env=full_env)


def free_port() -> int:
    """A TCP port that was free a moment ago (for torchrun's rendezvous)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
