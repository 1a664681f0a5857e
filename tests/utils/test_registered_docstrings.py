"""Every class mmcmd registers documents itself as mmaction2's do: an
``Args:`` section naming each constructor argument, and for transforms the
Required / Added / Modified Keys."""
import inspect
from typing import Dict, List, Tuple

import pytest
from mmaction import registry
from mmengine.registry import Registry

import mmcmd

KEY_SECTIONS = ('Required Keys', 'Added Keys', 'Modified Keys')


def registered() -> List[Tuple[str, str, type]]:
    """(registry, name, class) of every class from an mmcmd module."""
    mmcmd.register_all_modules(init_default_scope=False)
    rows: Dict[type, Tuple[str, str, type]] = {}
    for attr in sorted(dir(registry)):
        reg = getattr(registry, attr)
        if not isinstance(reg, Registry):
            continue
        for name, cls in reg.module_dict.items():
            if inspect.isclass(cls) and cls.__module__.startswith('mmcmd.'):
                rows.setdefault(cls, (attr, name, cls))
    return sorted(rows.values(), key=lambda row: row[:2])


def init_params(cls: type) -> List[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != 'self' and p.kind not in (
        inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]


def args_section(doc: str) -> str:
    """The text of the ``Args:`` section (up to the next section)."""
    after = doc.split('Args:', 1)[1]
    lines = []
    for line in after.splitlines()[1:]:
        if line and not line.startswith(' '):
            break
        lines.append(line)
    return '\n'.join(lines)


def test_the_registries_hold_mmcmd_classes():
    kinds = {row[0] for row in registered()}
    assert {'TRANSFORMS', 'MODELS', 'HOOKS', 'METRICS',
            'DATASETS'} <= kinds


@pytest.mark.parametrize('kind,name,cls', registered(),
                         ids=lambda v: v if isinstance(v, str) else '')
def test_docstring_sections(kind, name, cls):
    doc = inspect.getdoc(cls) or ''
    if kind == 'TRANSFORMS':
        missing = [s for s in KEY_SECTIONS if f'{s}:' not in doc]
        assert not missing, f'{name} ({cls.__module__}) lacks {missing}'
    params = init_params(cls)
    if params:
        assert 'Args:' in doc, f'{name} ({cls.__module__}) has no Args:'
        section = args_section(doc)
        undocumented = [p for p in params if f'{p}' not in section]
        assert not undocumented, (
            f'{name} ({cls.__module__}): Args: does not name {undocumented}')
