"""CMD: context matching + motion prediction (Huang et al., CVPR 2021)."""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from .base import (BaseSelfSupervisor, Features, build_module, final_map,
                   global_pool, probe_output_shapes)


def fuse_clip_maps(features: Features) -> torch.Tensor:
    """The clip map the heads read.

    One output: used as is (C3D, X3D, ...). Two outputs (stage 3, stage 4):
    stage 3 is folded in time (steps t, t + f, ... concatenated on channels,
    f = T3 / T4; even and odd steps for f = 2), stage 4 is nearest-upsampled
    to the folded size and added: 1024x4x7x7 + 2048x2x4x4 -> 2048x2x7x7.
    """
    if isinstance(features, torch.Tensor):
        return features
    if len(features) == 1:
        return features[0]
    if len(features) != 2:
        raise ValueError(f'CMD: the clip backbone returned {len(features)} '
                         'maps; use out_indices with one or two stages.')
    x3, x4 = features
    fold = max(1, x3.shape[2] // x4.shape[2])
    folded = torch.cat([x3[:, :, i::fold] for i in range(fold)], dim=1)
    if folded.shape[1] != x4.shape[1]:
        raise ValueError(
            f'CMD: cannot add stage maps with {x3.shape[1]} x {fold} and '
            f'{x4.shape[1]} channels; use a single clip output instead '
            '(out_indices=(3, )).')
    return folded + F.interpolate(x4, size=folded.shape[2:], mode='nearest')


def _fill(cfg: dict, **values) -> dict:
    """Copy of ``cfg`` with the given keys set where missing or None."""
    cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        if cfg.get(key) is None:
            cfg[key] = value
    return cfg


@MODELS.register_module()
class CMD(BaseSelfSupervisor):
    """Context and Motion Decoupling self-supervisor.

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone; with
            two outputs (stage 3, 4) the maps are fused, see
            :func:`fuse_clip_maps`).
        motion_backbone: motion encoder cfg (2 input channels).
        keyframe_backbone: keyframe encoder cfg (takes (B, 3, H, W)).
        context_head / motion_head: head cfgs; channel and token counts left
            out are filled from a meta-device dry run of the backbones.
        clip_shape: (T, H, W) of training clips; motion_shape: (T_m, H, W)
            of motion windows; keyframe_shape: (H, W).
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
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.motion_backbone = build_module(motion_backbone)
        self.keyframe_backbone = build_module(keyframe_backbone)
        clip_in = backbone.get('in_channels', 3)
        clip_outs = probe_output_shapes(backbone, (clip_in, *clip_shape))
        with torch.device('meta'):
            fused = fuse_clip_maps(tuple(
                torch.empty(1, *s, device='meta') for s in clip_outs))
        motion_out = probe_output_shapes(
            motion_backbone,
            (motion_backbone.get('in_channels', 2), *motion_shape))[-1]
        keyframe_out = probe_output_shapes(keyframe_backbone,
                                           (3, *keyframe_shape))[-1]
        self.context_head = build_module(_fill(
            context_head, in_channels=fused.shape[1],
            keyframe_channels=keyframe_out[0]))
        self.motion_head = build_module(_fill(
            motion_head, in_channels=fused.shape[1],
            motion_channels=motion_out[0],
            num_source_tokens=fused[0, 0].numel(),
            num_target_tokens=int(torch.Size(motion_out[1:]).numel())))

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """``loss_context``, ``loss_motion`` and their top-1 accuracies."""
        missing = {'imgs', 'keyframe', 'motion'} - set(inputs)
        if missing:
            raise KeyError(f'CMD.loss: inputs lack {sorted(missing)}; the '
                           'pipeline must pack imgs, keyframe and motion.')
        clip_map = fuse_clip_maps(self.extract_feat(inputs['imgs']))
        motion = inputs['motion']
        negatives = inputs.get('negative_motion')
        num_videos = motion.shape[0]
        if negatives is not None and negatives.numel() > 0:
            motion = torch.cat([motion, negatives.flatten(0, 1)], dim=0)
        motion_map = final_map(self.motion_backbone(motion))
        keyframe_vec = global_pool(final_map(
            self.keyframe_backbone(inputs['keyframe'])))
        losses = self.context_head.loss(global_pool(clip_map), keyframe_vec)
        negative_map = (motion_map[num_videos:]
                        if motion_map.shape[0] > num_videos else None)
        losses.update(self.motion_head.loss(
            clip_map, motion_map[:num_videos], negative_map))
        return losses
