"""Key mapping between the official CMD pretraining checkpoint and ``CMD``.

Every official key is ``<prefix><rest>``; the mmcmd key is
``OFFICIAL_TO_MMCMD[<prefix>] + <rest>`` (the rest is identical: backbone,
transformer and projection-head internals use the official names).
"""
from __future__ import annotations

from typing import Dict, Mapping, TypeVar

OFFICIAL_TO_MMCMD: Dict[str, str] = {
    'rgb_backbone.': 'backbone.',
    'm_backbone.': 'motion_backbone.',
    'i_backbone.': 'keyframe_backbone.',
    'fc.': 'motion_head.fc.',
    'k_embedding.': 'motion_head.source_embedding.',
    'q_embedding.': 'motion_head.target_embedding.',
    'transformer.': 'motion_head.transformer.',
    'mq_head.': 'motion_head.query_proj.',
    'mk_head.': 'motion_head.key_proj.',
    'iq_head.': 'context_head.query_proj.',
    'ik_head.': 'context_head.key_proj.',
}
MMCMD_TO_OFFICIAL: Dict[str, str] = {v: k for k, v in OFFICIAL_TO_MMCMD.items()}

V = TypeVar('V')


def _swap_prefix(key: str, table: Mapping[str, str]) -> str:
    # Longest prefix first so 'motion_head.fc.' never shadows a longer one.
    for prefix in sorted(table, key=len, reverse=True):
        if key.startswith(prefix):
            return table[prefix] + key[len(prefix):]
    raise KeyError(f'{key!r} has none of the known prefixes '
                   f'{sorted(table)}; is this a CMD pretraining checkpoint?')


def official_to_mmcmd_key(key: str) -> str:
    """The ``CMD`` state-dict key of an official checkpoint key."""
    return _swap_prefix(key[len('module.'):] if key.startswith('module.')
                        else key, OFFICIAL_TO_MMCMD)


def mmcmd_to_official_key(key: str) -> str:
    """The official checkpoint key of a ``CMD`` state-dict key."""
    return _swap_prefix(key, MMCMD_TO_OFFICIAL)


def official_to_mmcmd_state_dict(state: Mapping[str, V]) -> Dict[str, V]:
    """Rename every key of an official state dict (DDP ``module.`` dropped)."""
    return {official_to_mmcmd_key(k): v for k, v in state.items()}
