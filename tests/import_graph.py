"""The module-level import graph of ``mmcmd`` (run in a fresh interpreter
by ``tests/test_import_graph.py``; prints one JSON object).

Every module under ``mmcmd/`` is imported, then every ``import`` statement
of their sources (at module level and inside functions, classes and ``if``
blocks) becomes an edge: ``from .x import y`` points at ``pkg.x.y`` when
that is a module, else at ``pkg.x``. A package's ``__init__`` is the
package's node; the implicit import of a module's parent packages is no
edge. Then ``mmcmd.models.presets`` is imported again with every way of
opening a file made to fail, and each of its presets is built.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'mmcmd'


def module_names() -> Dict[str, Path]:
    """Dotted name -> source file of every module under mmcmd/."""
    names = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = list(path.relative_to(ROOT).with_suffix('').parts)
        if parts[-1] == '__init__':
            parts.pop()
        names['.'.join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: Set[str]) -> Set[str]:
    """The mmcmd modules the source of module ``name`` imports."""
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    targets: Set[str] = set()

    def add(dotted: str) -> None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition('.')[0]
        if dotted:
            targets.add(dotted)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                base = '.'.join(base + ([node.module] if node.module
                                        else []))
            else:
                base = node.module or ''
            for alias in node.names:
                full = f'{base}.{alias.name}'
                add(full if full in modules else base)
    targets.discard(name)  # a module naming itself is no dependency
    return targets


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def presets_without_files() -> List[str]:
    """Build every preset with file opening disabled; the errors."""
    def refuse(*args, **kwargs):
        raise AssertionError(f'mmcmd.models.presets opened a file: {args}')

    sys.modules.pop('mmcmd.models.presets', None)
    saved = (builtins.open, io.open, os.listdir, os.scandir, os.open)
    builtins.open = io.open = os.listdir = os.scandir = os.open = refuse
    errors = []
    try:
        presets = importlib.import_module('mmcmd.models.presets')
        for name in presets.variant_names():
            presets.cmd_model_cfg(name)
            dict(presets.CLIP_BACKBONES[name])
    except AssertionError as err:
        errors.append(str(err))
    finally:
        builtins.open, io.open, os.listdir, os.scandir, os.open = saved
    return errors


def main() -> None:
    """Import everything, print the graph's edges, cycles and file opens."""
    modules = module_names()
    failed = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001  (reported, not raised)
            failed[name] = f'{type(err).__name__}: {err}'
    graph = {name: imports_of(name, path, set(modules))
             for name, path in modules.items()}
    print(json.dumps(dict(
        modules=sorted(modules), failed=failed,
        edges={k: sorted(v) for k, v in graph.items()},
        cycles=cycles(graph), preset_file_opens=presets_without_files())))


if __name__ == '__main__':
    main()
