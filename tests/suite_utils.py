"""Helpers shared by the suite: tiny real videos, running the tools.

Imported as ``from suite_utils import ...`` (a unique module name: several
test folders have a conftest.py of their own).
"""
from __future__ import annotations

import os
import os.path as osp
import socket
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def write_test_video(path: str, num_frames: int = 24, size=(48, 32),
                     seed: int = 0, codec: str = 'libx264',
                     fps: int = 25) -> np.ndarray:
    """Write a small textured video whose content moves 1 px/frame.

    Returns the RGB frames that were encoded, (T, H, W, 3) uint8.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height, width + num_frames, 3),
                           dtype=np.uint8)
    frames = np.stack([texture[:, t:t + width] for t in range(num_frames)])
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with av.open(path, 'w') as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuv420p'
        for frame in frames:
            for packet in stream.encode(
                    av.VideoFrame.from_ndarray(frame, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return frames


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
