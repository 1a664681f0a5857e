"""Bases of the clip models: the embedding model every one shares, and the
self-supervisor that builds backbone, necks and head from config."""
from __future__ import annotations

import copy
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmaction.structures import ActionDataSample
from mmengine.model import BaseModel

from ...utils.checkpoint import rename_keys
from ..utils import (
    Features,
    Inputs,
    build_data_preprocessor,
    build_module,
    fill_cfg,
    final_map,
    pooled_embedding,
    probe_output_shapes,
)


class BaseClipModel(BaseModel):
    """Data preprocessor -> clip ``backbone`` [-> ``neck``]; the ``tensor``
    and ``predict`` modes every clip model shares.

    ``tensor`` mode returns the backbone outputs; ``predict`` stores each
    video's (C,) embedding (:meth:`embed`: global average pool of the
    backbone's final map, averaged over the clips of the video; the neck is
    not used) in its data sample as field ``embedding``; ``loss`` mode calls
    :meth:`loss`.

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone).
        data_preprocessor: cfg or module; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: cfg of the module turning the backbone outputs into the one
            clip map the heads read, e.g. ``dict(type='ClipMapFusion')``
            for a backbone with two outputs. None: the backbone's output is
            the clip map, so it must return one map.
    """

    def __init__(self,
                 backbone: dict,
                 data_preprocessor=None,
                 init_cfg: Optional[dict] = None,
                 neck: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone_cfg = copy.deepcopy(backbone)
        self.backbone = build_module(backbone)
        self.neck = build_module(neck) if neck is not None else None

    @staticmethod
    def clips_of(inputs: Inputs) -> torch.Tensor:
        """The RGB clip tensor of a batch (a tensor, or ``inputs['imgs']``)."""
        return inputs['imgs'] if isinstance(inputs, dict) else inputs

    def extract_feat(self, clips: torch.Tensor) -> Features:
        """Backbone outputs for (B, 3, T, H, W) clips."""
        return self.backbone(clips)

    def clip_map(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) clips -> the (B, C, T', H', W') map heads read."""
        features = self.extract_feat(clips)
        if self.neck is not None:
            return self.neck(features)
        return final_map(features)

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, [num_clips,] 3, T, H, W) clips -> (B, C) video embeddings."""
        return pooled_embedding(self.extract_feat, clips)

    def forward(self, inputs: Inputs,
                data_samples: Optional[List[ActionDataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to ``loss`` / ``predict`` / ``tensor`` (backbone outputs)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(self.clips_of(inputs))
        raise ValueError(f'{type(self).__name__}: unknown mode {mode!r}; use '
                         "'loss', 'predict' or 'tensor'.")

    def loss(self, inputs: Inputs,
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """The training losses (implemented by each subclass)."""
        raise NotImplementedError

    def predict(self, inputs: Inputs,
                data_samples: Optional[List[ActionDataSample]] = None
                ) -> List[ActionDataSample]:
        """Data samples with field ``embedding`` (C,) set, one per video."""
        emb = self.embed(self.clips_of(inputs))
        if data_samples is None:
            data_samples = [ActionDataSample() for _ in range(emb.shape[0])]
        for sample, vector in zip(data_samples, emb):
            sample.set_field(vector, 'embedding')
        return data_samples


class BaseSelfSupervisor(BaseClipModel):
    """A clip model with a pretext loss, built from config as::

        clips -> backbone -> [neck: clip map] -> [projector: embedding]
                                                      -> head.loss(...)

    The base builds the clip ``backbone``, the ``neck`` (making the one
    clip map from the backbone outputs), the ``projector`` (a registered
    projection neck, e.g. ``ProjectionMLP`` or ``LinearProjection``; its
    ``in_channels`` are filled from a meta-device run of backbone and neck
    on a ``clip_shape`` clip) and the ``head`` (a registered head that
    builds its loss from ``loss=dict(type=...)``). Subclasses implement
    :meth:`loss` and may build more heads (CMD, MLFO) with
    :func:`mmcmd.models.utils.build_module`.

    Old checkpoints: :meth:`legacy_key_map` lists the state-dict names an
    earlier layout of the model used (old -> new, ``'.'``-terminated names
    are prefixes); they are renamed on every load (``load_state_dict``,
    mmengine's ``load_checkpoint``, :func:`mmcmd.utils.checkpoint.load_into`).

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone).
        data_preprocessor: cfg or module; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: clip-map neck cfg (see :class:`BaseClipModel`).
        projector: projection neck cfg, or None.
        head: head cfg (owning its loss), or None.
        clip_shape: (T, H, W) of training clips; sizes the projector.
    """

    def __init__(self,
                 backbone: dict,
                 data_preprocessor=None,
                 init_cfg: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 head: Optional[dict] = None,
                 clip_shape: Optional[Sequence[int]] = None) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg, neck=neck)
        self.projector = None
        if projector is not None:
            if projector.get('in_channels') is None:
                if clip_shape is None:
                    raise ValueError(
                        f'{type(self).__name__}: give the projector its '
                        'in_channels or the model its clip_shape.')
                projector = fill_cfg(
                    projector, in_channels=self.clip_map_shape(clip_shape)[0])
            self.projector = build_module(projector)
        self.head = build_module(head) if head is not None else None

    def clip_map_shape(self, clip_shape: Sequence[int]) -> Tuple[int, ...]:
        """(C, T, H, W) of :meth:`clip_map` for one clip of ``clip_shape``
        (T, H, W), from a meta-device run (no memory, no FLOPs)."""
        backbone = self.backbone_cfg
        outs = probe_output_shapes(
            backbone, (backbone.get('in_channels', 3), *clip_shape))
        if self.neck is None:
            if len(outs) != 1:
                raise ValueError(
                    f'{type(self).__name__}: the clip backbone returns '
                    f'{len(outs)} maps but the model has no neck to fuse '
                    "them; add neck=dict(type='ClipMapFusion') to the model "
                    'config or give the backbone one output (out_indices).')
            return outs[0]
        with torch.device('meta'):
            fused = self.neck(tuple(torch.empty(1, *shape, device='meta')
                                    for shape in outs))
        return tuple(fused.shape[1:])

    def encoder(self) -> torch.nn.Sequential:
        """backbone -> [neck] -> projector as one module (not registered:
        its parameters are the model's own), e.g. for a momentum copy."""
        parts = [self.backbone, self.neck, self.projector]
        return torch.nn.Sequential(*[m for m in parts if m is not None])

    def project(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) clips -> (N, D) projector embeddings."""
        return self.projector(self.clip_map(clips))

    # ------------------------------------------------------ old checkpoints
    def legacy_key_map(self) -> Mapping[str, str]:
        """Old -> new state-dict names of this model (none here)."""
        return {}

    def upgrade_legacy_state(self, state: dict, prefix: str = '') -> None:
        """Rename the old keys of ``state`` (under ``prefix``) in place."""
        rename_keys(state, self.legacy_key_map(), prefix)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self.upgrade_legacy_state(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
