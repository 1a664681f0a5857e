"""``--cfg-options`` checked against the config before they are merged.

mmengine's ``Config.merge_from_dict`` creates every key it is given, so a
typo (``trian_dataloader.batch_size=4``) adds an unused key and the run
goes on with the shipped value. :func:`merge_cfg_options` walks each
dotted key through the config first and refuses, in one line naming the
closest existing key, a key that is not there, an index past the end of a
list, a step into a value that is not a dict, and a value of the wrong
kind (text where the config holds a number or ``True``/``False``).

A dict with a ``type`` builds a registered class: the parameters of its
constructor (through its base classes) count as existing keys, so
``model.backbone.base_channels=8`` is accepted where the config leaves
``base_channels`` at its default. Any other key that is meant to be new
is written with a leading ``+``
(``+model.backbone.frozen_stages=2``): its missing parts are created, as
mmengine does for every key. Every tool that takes ``--cfg-options``
merges them through this module, with :data:`CFG_OPTIONS_HELP` as help.
"""
from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any, Dict, FrozenSet, List, Mapping, Optional

#: prefix of a ``--cfg-options`` key that may be new to the config.
NEW_KEY_PREFIX = '+'
#: mmengine's marker that replaces a dict instead of merging into it.
DELETE_KEY = '_delete_'

#: help text of ``--cfg-options`` in every tool.
CFG_OPTIONS_HELP = (
    'override config settings as key=value pairs without white space, '
    'e.g. train_dataloader.batch_size=4; a list as key="[a,b]", a list '
    'item as key.0.field=value. Keys must exist in the config (a typo is an '
    'error naming the closest key) and values keep their kind (number, '
    'True/False); a key meant to be new takes a leading +, e.g. '
    '+model.backbone.frozen_stages=2')


class ConfigOptionError(ValueError):
    """A ``--cfg-options`` entry that does not fit the config."""


def _kind(value: Any) -> str:
    """A short name of a value's kind for messages."""
    if isinstance(value, bool):
        return 'True/False'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, str):
        return 'text'
    if isinstance(value, Mapping):
        return 'a dict'
    if isinstance(value, (list, tuple)):
        return f'a {type(value).__name__} of {len(value)}'
    return f'a {type(value).__name__}'


@functools.lru_cache(maxsize=None)
def _registered_params(name: str) -> FrozenSet[str]:
    """Constructor parameters of the classes registered as ``name`` in
    mmaction2's (and, through them, mmengine's) registries."""
    try:
        import mmaction.registry as registries
        from mmengine.registry import Registry
    except ImportError:
        return frozenset()
    classes = []
    for attr in dir(registries):
        registry = getattr(registries, attr)
        if not isinstance(registry, Registry):
            continue
        try:
            found = registry.get(name)
        except Exception:  # noqa: BLE001 (an unknown scope prefix)
            found = None
        if inspect.isclass(found):
            classes.append(found)
    return frozenset().union(*(_class_params(c) for c in classes))


def _class_params(cls: type) -> FrozenSet[str]:
    """Named parameters of ``cls.__init__`` and of its base classes'."""
    names = set()
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get('__init__', None)
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names.update(p.name for p in params if p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != 'self')
    return frozenset(names)


def type_params(node: Mapping) -> FrozenSet[str]:
    """Constructor parameters of the class a config dict builds (its
    ``type``: a registered name or a class); empty when unknown.

    Args:
        node: a config dict.
    """
    kind = node.get('type', None)
    if inspect.isclass(kind):
        return _class_params(kind)
    if isinstance(kind, str) and kind:
        return _registered_params(kind)
    return frozenset()


def _closest(key: str, keys: List[str]) -> str:
    """``; did you mean 'x'?`` or the keys that exist there (at most 8)."""
    match = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    if match:
        return f"; did you mean '{match[0]}'?"
    shown = sorted(keys)[:8]
    more = ', ...' if len(keys) > 8 else ''
    return f" (keys there: {', '.join(shown)}{more})" if shown else ''


def _check_value(path: str, old: Any, new: Any) -> Any:
    """The value to merge at ``path``, where the config holds ``old``."""
    if old is None or new is None:
        return new
    if isinstance(old, bool):
        if isinstance(new, bool):
            return new
    elif isinstance(old, (int, float)):
        if isinstance(new, (int, float)) and not isinstance(new, bool):
            return new
    elif isinstance(old, str):
        if isinstance(new, (int, float)) and not isinstance(new, bool):
            return str(new)  # DictAction reads '2024' as a number
        return new
    elif isinstance(old, Mapping):
        if isinstance(new, Mapping):
            return new
    else:
        return new
    raise ConfigOptionError(
        f'--cfg-options {path}={new!r}: the config holds {_kind(old)} '
        f'there ({old!r}), not {_kind(new)}')


def check_cfg_options(cfg: Mapping,
                      options: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Check ``--cfg-options`` against a config; the dict to merge.

    Each dotted key is walked through ``cfg``: a missing key (without the
    ``+`` prefix), an index past the end of a list, an index into a tuple
    and a step into a value that is not a dict or list are refused; so is
    a value of another kind than the config's (text for a number or for
    ``True``/``False``, a plain value for a dict). ``None`` on either side
    is accepted, a number for text is turned into text. A last key that is
    a constructor parameter of the dict's ``type`` (:func:`type_params`)
    exists.

    Args:
        cfg: the config (an mmengine ``Config`` or a plain dict).
        options: key -> value, as mmengine's ``DictAction`` parsed them.

    Returns:
        The options with the ``+`` prefixes removed, ready for
        ``Config.merge_from_dict``.

    Raises:
        ConfigOptionError: one line, e.g. ``unknown key 'trian_dataloader'
            in --cfg-options; did you mean 'train_dataloader'?``.
    """
    root = getattr(cfg, '_cfg_dict', cfg)  # an mmengine Config's dict
    checked: Dict[str, Any] = {}
    for full_key, value in (options or {}).items():
        new = full_key.startswith(NEW_KEY_PREFIX)
        key = full_key[len(NEW_KEY_PREFIX):] if new else full_key
        parts = key.split('.')
        if not key or '' in parts:
            raise ConfigOptionError(
                f"--cfg-options key {full_key!r} has an empty part")
        node: Any = root
        done: List[str] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            where = '.'.join(done)
            if isinstance(node, Mapping):
                if part == DELETE_KEY:
                    node = None
                    break
                if part not in node:
                    params = type_params(node)
                    if new or (last and part in params):
                        node = None  # a new key or a constructor default
                        break
                    place = f" under '{where}'" if where else ''
                    known = sorted({str(k) for k in node.keys()} | params)
                    raise ConfigOptionError(
                        f"unknown key '{part}'{place} in --cfg-options "
                        f'{full_key}={value!r}{_closest(part, known)} '
                        f'(a new key takes a leading {NEW_KEY_PREFIX}: '
                        f'{NEW_KEY_PREFIX}{key}=...)')
                child = node[part]
            elif isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigOptionError(
                        f"--cfg-options {full_key}: '{where}' is a list of "
                        f"{len(node)}, '{part}' is not an index 0..."
                        f'{len(node) - 1}')
                child = node[int(part)]
            else:
                raise ConfigOptionError(
                    f"--cfg-options {full_key}: '{where}' holds "
                    f'{_kind(node)} ({node!r}), which has no key '
                    f"'{part}'; set the whole value: {where}=...")
            if last:
                value = _check_value(key, child, value)
            node = child
            done.append(part)
        checked[key] = value
    return checked


def merge_cfg_options(cfg, options: Optional[Mapping[str, Any]]):
    """Check ``--cfg-options`` (:func:`check_cfg_options`) and merge them.

    Args:
        cfg: an mmengine ``Config``, changed in place.
        options: key -> value from ``--cfg-options``; nothing when empty.

    Returns:
        The config.
    """
    if options:
        cfg.merge_from_dict(check_cfg_options(cfg, options))
    return cfg
