"""CMD: context matching + motion prediction (Huang et al., CVPR 2021)."""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ..utils import build_module, final_map, global_pool, probe_output_shapes
from .base import BaseSelfSupervisor


def _fill(cfg: dict, **values) -> dict:
    """Copy of ``cfg`` with the given keys set where missing or None."""
    cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        if cfg.get(key) is None:
            cfg[key] = value
    return cfg


@MODELS.register_module()
class CMD(BaseSelfSupervisor):
    """Context and Motion Decoupling self-supervisor::

        clip -> backbone -> neck -> clip map --mean--> context_head <- keyframe
                                       |                 (keyframe_backbone)
                                       +-> motion_head <- motion windows
                                                         (motion_backbone)
        loss = loss_context + loss_motion

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone).
        motion_backbone: motion encoder cfg (2 input channels).
        keyframe_backbone: keyframe encoder cfg (takes (B, 3, H, W)).
        context_head: :class:`ContextMatchingHead` cfg.
        motion_head: :class:`MotionPredictionHead` cfg. Channel and token
            counts left out of either head are filled from a meta-device
            dry run of the backbones and the neck.
        clip_shape: (T, H, W) of training clips (frames, pixels).
        motion_shape: (T_m, H, W) of motion windows (frames, pixels).
        keyframe_shape: (H, W) of keyframes (pixels).
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: cfg of the module making the clip map from the backbone
            outputs; ``dict(type='ClipMapFusion')`` fuses stages 3 and 4 of
            the ResNets. None: the backbone must return one map.
    """

    def __init__(self,
                 backbone: dict,
                 motion_backbone: dict,
                 keyframe_backbone: dict,
                 context_head: dict,
                 motion_head: dict,
                 clip_shape: Sequence[int] = (16, 112, 112),
                 motion_shape: Sequence[int] = (8, 112, 112),
                 keyframe_shape: Sequence[int] = (112, 112),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 neck: Optional[dict] = None) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg, neck=neck)
        self.motion_backbone = build_module(motion_backbone)
        self.keyframe_backbone = build_module(keyframe_backbone)
        clip_map = self.clip_map_shape(clip_shape)
        motion_out = probe_output_shapes(
            motion_backbone,
            (motion_backbone.get('in_channels', 2), *motion_shape))[-1]
        keyframe_out = probe_output_shapes(keyframe_backbone,
                                           (3, *keyframe_shape))[-1]
        self.context_head = build_module(_fill(
            context_head, in_channels=clip_map[0],
            keyframe_channels=keyframe_out[0]))
        self.motion_head = build_module(_fill(
            motion_head, in_channels=clip_map[0],
            motion_channels=motion_out[0],
            num_source_tokens=int(torch.Size(clip_map[1:]).numel()),
            num_target_tokens=int(torch.Size(motion_out[1:]).numel())))

    @staticmethod
    def motion_windows(inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """(B + B*N, 2, T_m, H, W): the B true future windows, then the N
        hard-negative windows of every video (video-major).

        The one place where negatives join the true futures: the motion
        encoder sees all windows in one batch (BatchNorm statistics over all
        of them), and the motion head reads the true futures first.
        """
        motion = inputs['motion']
        negatives = inputs.get('negative_motion')
        if negatives is None or negatives.numel() == 0:
            return motion
        return torch.cat([motion, negatives.flatten(0, 1)], dim=0)

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """``loss_context``, ``loss_motion`` and their top-1 accuracies."""
        missing = {'imgs', 'keyframe', 'motion'} - set(inputs)
        if missing:
            raise KeyError(f'CMD.loss: inputs lack {sorted(missing)}; the '
                           'pipeline must pack imgs, keyframe and motion.')
        clip_map = self.clip_map(inputs['imgs'])
        windows = self.motion_windows(inputs)
        motion_map = final_map(self.motion_backbone(windows))
        keyframe_vec = global_pool(final_map(
            self.keyframe_backbone(inputs['keyframe'])))
        losses = self.context_head.loss(global_pool(clip_map), keyframe_vec)
        losses.update(self.motion_head.loss(clip_map, motion_map, windows))
        return losses
