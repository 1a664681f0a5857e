"""Small base class of self-supervisors: clip backbone, embeddings, modes."""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

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


class BaseSelfSupervisor(BaseModel):
    """Builds the clip ``backbone``; gives ``tensor`` and ``predict`` modes.

    Subclasses implement :meth:`loss`. ``predict`` stores the clip embedding
    (global average pool of the backbone's final map, averaged over the clips
    of a video, not normalised) in each data sample as field ``embedding``.
    """

    def __init__(self,
                 backbone: dict,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='CMDDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # mmaction's registry, so no default scope needs to be set.
            data_preprocessor = build_module(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone_cfg = copy.deepcopy(backbone)
        self.backbone = build_module(backbone)

    @staticmethod
    def clips_of(inputs: Inputs) -> torch.Tensor:
        """The RGB clip tensor of a batch (a tensor, or ``inputs['imgs']``)."""
        return inputs['imgs'] if isinstance(inputs, dict) else inputs

    def extract_feat(self, clips: torch.Tensor) -> Features:
        """Backbone outputs for (B, 3, T, H, W) clips."""
        return self.backbone(clips)

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, [num_clips,] 3, T, H, W) clips -> (B, C) video embeddings."""
        if clips.dim() == 6:
            b, n = clips.shape[:2]
            emb = global_pool(final_map(self.extract_feat(clips.flatten(0, 1))))
            return emb.view(b, n, -1).mean(dim=1)
        return global_pool(final_map(self.extract_feat(clips)))

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
