"""Small base class of self-supervisors: clip backbone, embeddings, modes."""
from __future__ import annotations

import copy
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope

Features = Union[torch.Tensor, Tuple[torch.Tensor, ...]]
Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]


def build_module(cfg: dict) -> torch.nn.Module:
    """Build a model cfg from mmaction's registry, in the mmaction scope (so
    mmcv bricks such as ``conv_cfg=dict(type='Conv2plus1d')`` resolve without
    a runner)."""
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(copy.deepcopy(cfg))


def probe_output_shapes(cfg: dict, input_shape: Sequence[int]
                        ) -> List[Tuple[int, ...]]:
    """Output shapes of the module ``cfg`` builds, for one input of
    ``input_shape`` (without batch), computed on the meta device (no memory,
    no FLOPs)."""
    with torch.device('meta'):
        module = build_module(cfg)
        module.eval()  # some mmaction backbones' train() returns None
        out = module(torch.empty(1, *input_shape, device='meta'))
    outs = out if isinstance(out, (tuple, list)) else (out, )
    return [tuple(o.shape[1:]) for o in outs]


def final_map(features: Features) -> torch.Tensor:
    """The last (deepest) output of a backbone."""
    return features[-1] if isinstance(features, (tuple, list)) else features


def global_pool(x: torch.Tensor) -> torch.Tensor:
    """(N, C, ...) -> (N, C) mean over every axis after the channels."""
    return x.flatten(2).mean(-1) if x.dim() > 2 else x


def pooled_embedding(backbone: Callable[[torch.Tensor], Features],
                     clips: torch.Tensor) -> torch.Tensor:
    """(B, [num_clips,] 3, T, H, W) clips -> (B, C): the global average pool
    of the backbone's final map, averaged over the clips of each video."""
    if clips.dim() == 6:
        b, n = clips.shape[:2]
        emb = global_pool(final_map(backbone(clips.flatten(0, 1))))
        return emb.view(b, n, -1).mean(dim=1)
    return global_pool(final_map(backbone(clips)))


def build_data_preprocessor(
        cfg: Optional[Union[dict, torch.nn.Module]]) -> torch.nn.Module:
    """The data preprocessor of a model: built from ``cfg`` in mmaction's
    registry (no default scope needed), ``CMDDataPreprocessor`` when None,
    a module as it is."""
    if cfg is None:
        cfg = dict(type='CMDDataPreprocessor')
    return build_module(cfg) if isinstance(cfg, dict) else cfg


class BaseSelfSupervisor(BaseModel):
    """Builds the clip ``backbone`` and ``neck``; gives ``tensor`` and
    ``predict`` modes.

    Subclasses implement :meth:`loss`; their heads read :meth:`clip_map`
    (backbone, then neck). ``predict`` stores the clip embedding (global
    average pool of the backbone's final map, averaged over the clips of a
    video, not normalised; the neck is not used) in each data sample as
    field ``embedding``.

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
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 neck: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone_cfg = copy.deepcopy(backbone)
        self.backbone = build_module(backbone)
        self.neck = build_module(neck) if neck is not None else None

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

    def clip_map(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) clips -> the (B, C, T', H', W') map heads read."""
        features = self.extract_feat(clips)
        if self.neck is not None:
            return self.neck(features)
        return final_map(features)

    @staticmethod
    def clips_of(inputs: Inputs) -> torch.Tensor:
        """The RGB clip tensor of a batch (a tensor, or ``inputs['imgs']``)."""
        return inputs['imgs'] if isinstance(inputs, dict) else inputs

    def extract_feat(self, clips: torch.Tensor) -> Features:
        """Backbone outputs for (B, 3, T, H, W) clips."""
        return self.backbone(clips)

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
        """The pretext losses (implemented by each self-supervisor)."""
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
