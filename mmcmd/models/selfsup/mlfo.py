"""MLFO: multi-level feature optimisation (Qian et al., ICCV 2021)."""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ..heads.mlfo_heads import MLFOLevel
from ..utils import build_module, fill_cfg, probe_output_shapes
from .base import BaseSelfSupervisor

LEVEL_NAMES = ('low', 'mid', 'high')

#: values of ``MLFO(global_head_batch=...)``: one global-head call on clip 1,
#: clip 2 and the global clip together, or one call per clip.
GLOBAL_HEAD_BATCHES = ('joint', 'separate')


@MODELS.register_module()
class MLFO(BaseSelfSupervisor):
    """Low-, mid- and high-level features optimised together.

    Input: per video three clips (B, 3, 3, T, H, W): clip 1, clip 2 (the
    next T frames at the same rate) and the global clip (both spans at half
    the rate), e.g. from :class:`mmcmd.datasets.transforms.MLFOViews`. The
    backbone returns the low, mid and high maps (``out_indices``), the
    :class:`MLFOTemporalNeck` pools them to short sequences (low and mid
    also time-reversed and motion-excited). With ``w = level_weights``::

        loss = L_inst(high) + sum_l w_l L_ts(l)          timestamp matching
             + sum_{l in low, mid} w_l L_motion(l)        reversed negatives
             + L_proto                                    SwAV, Sinkhorn
             [+ sum_l w_l L_graph(l)  once ``use_graph``]  G = G_ins * G_sem

    Parts: the backbone, the ``neck`` (:class:`MLFOTemporalNeck`), one
    ``level_neck`` per level (``MLFOLevelProjection``: instance, graph and
    per-step projections) and the ``global_neck``
    (``MLFOGlobalProjection``, the prototypes' input); one head per term,
    each owning its loss: ``instance_head``, ``timestamp_head``,
    ``motion_head``, ``proto_head`` (``MLFOSwAVHead``: the prototypes, the
    queue of past scores, ``queue_length`` x 2 x K, FIFO, filled every
    training step; checkpoints hold both) and ``graph_head``.

    Schedule flags (set each epoch by ``MLFOScheduleHook``): ``use_graph``
    (graph constraint), ``use_queue`` (Sinkhorn over the score queue too),
    ``freeze_prototypes`` (no prototype gradient). ``predict`` gives the
    pooled high map, like every self-supervisor.

    Args:
        backbone: clip encoder cfg returning three maps (low, mid, high),
            e.g. ``dict(type='R3DResNet', depth=18, temporal_pool=False,
            out_indices=(1, 2, 3))``.
        neck: ``MLFOTemporalNeck`` cfg; its ``in_channels`` are filled from
            the backbone when left out.
        clip_shape: (T, H, W) of one training clip (sizes the heads).
        out_channels: dimension D of every projection.
        num_prototypes: K, the prototypes and the queue's width.
        queue_length: rows of the score queue.
        level_weights: weights of the low, mid and high levels (timestamp,
            motion and graph losses).
        instance_loss, timestamp_loss, motion_loss, proto_loss, graph_loss:
            loss cfgs (``MLFOInstanceLoss`` ... ``MLFOGraphLoss``); their
            ``loss_weight`` multiplies the level weight.
        graph_temperature: temperature of G_ins.
        graph_threshold: G_ins entries below it are dropped.
        global_head_batch: ``'separate'``: the global head runs on clip 1
            and on clip 2 in two calls (its BatchNorm normalises each clip
            with its own batch statistics); ``'joint'``: one call on clip
            1, clip 2 and the global clip together, whose scores are then
            dropped, so the BatchNorm statistics span all three (the
            released model.py:99-101, 114). Equal in eval mode.
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        level_neck: projection neck cfg of each level; ``in_channels``
            (the level's) and ``out_channels`` are filled when left out.
        global_neck: projection neck cfg of the global embedding;
            ``in_channels``, ``hidden_channels`` (the high level's) and
            ``out_channels`` are filled when left out.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict = dict(type='MLFOTemporalNeck'),
                 clip_shape: Sequence[int] = (16, 112, 112),
                 out_channels: int = 128,
                 num_prototypes: int = 1000,
                 queue_length: int = 1024,
                 level_weights: Sequence[float] = (0.3, 0.5, 1.0),
                 instance_loss: dict = dict(type='MLFOInstanceLoss'),
                 timestamp_loss: dict = dict(type='MLFOTimestampLoss'),
                 motion_loss: dict = dict(type='MLFOMotionContrastLoss'),
                 proto_loss: dict = dict(type='MLFOSwAVLoss',
                                         loss_weight=0.5),
                 graph_loss: dict = dict(type='MLFOGraphLoss'),
                 graph_temperature: float = 0.07,
                 graph_threshold: float = 0.05,
                 global_head_batch: str = 'separate',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 level_neck: dict = dict(type='MLFOLevelProjection'),
                 global_neck: dict = dict(type='MLFOGlobalProjection')
                 ) -> None:
        shapes = probe_output_shapes(
            backbone, (backbone.get('in_channels', 3), *clip_shape))
        if len(shapes) != 3:
            raise ValueError(f'MLFO: the backbone must return 3 maps (low, '
                             f'mid, high; set out_indices), got '
                             f'{len(shapes)}.')
        channels = [shape[0] for shape in shapes]
        if len(level_weights) != 3:
            raise ValueError('MLFO: level_weights needs 3 values.')
        if global_head_batch not in GLOBAL_HEAD_BATCHES:
            raise ValueError(f'MLFO: global_head_batch must be one of '
                             f'{GLOBAL_HEAD_BATCHES}, got '
                             f'{global_head_batch!r}.')
        super().__init__(backbone, data_preprocessor, init_cfg,
                         neck=fill_cfg(neck, in_channels=channels))
        self.level_weights = tuple(float(w) for w in level_weights)
        self.global_head_batch = global_head_batch
        self.level_necks = torch.nn.ModuleList(
            build_module(fill_cfg(level_neck, in_channels=c,
                                  out_channels=out_channels))
            for c in channels)
        self.global_neck = build_module(fill_cfg(
            global_neck, in_channels=channels[2],
            hidden_channels=channels[2], out_channels=out_channels))
        self.instance_head = build_module(
            dict(type='MLFOInstanceHead', loss=instance_loss))
        self.timestamp_head = build_module(
            dict(type='MLFOTimestampHead', loss=timestamp_loss))
        self.motion_head = build_module(
            dict(type='MLFOMotionHead', loss=motion_loss))
        self.proto_head = build_module(dict(
            type='MLFOSwAVHead', in_channels=out_channels,
            num_prototypes=num_prototypes, queue_length=queue_length,
            loss=proto_loss))
        self.graph_head = build_module(dict(
            type='MLFOGraphHead', loss=graph_loss,
            temperature=graph_temperature, threshold=graph_threshold))
        self.use_graph = False
        self.use_queue = False
        self.freeze_prototypes = False

    def set_schedule(self, use_graph: bool, use_queue: bool,
                     freeze_prototypes: bool) -> None:
        """Switch the epoch-driven parts (see ``MLFOScheduleHook``)."""
        self.use_graph = bool(use_graph)
        self.use_queue = bool(use_queue)
        self.freeze_prototypes = bool(freeze_prototypes)

    def levels(self, clips: torch.Tensor) -> List[MLFOLevel]:
        """The low, mid and high :class:`MLFOLevel` of (B, 3, 3, T, H, W)
        clips: clip 1, clip 2 and the global clip of every video through
        backbone and neck in one batch."""
        if clips.dim() != 6 or clips.shape[1] != 3:
            raise ValueError(
                'MLFO.loss: expects clips (B, 3, 3, T, H, W): clip 1, clip 2 '
                f'and the global clip per video, got {tuple(clips.shape)}; '
                'use the MLFOViews transform.')
        b = clips.shape[0]
        sequences = self.neck(self.extract_feat(
            clips.transpose(0, 1).flatten(0, 1)))
        levels = []
        for name, weight, projection, seq in zip(
                LEVEL_NAMES, self.level_weights, self.level_necks,
                sequences):
            c1, c2, g, *reversed_ = seq.split(b)
            levels.append(MLFOLevel(name, weight, projection, c1, c2, g,
                                    tuple(reversed_[:2]) or None))
        return levels

    def global_embeddings(self, c1: torch.Tensor, c2: torch.Tensor,
                          g: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Global embeddings of clip 1 and clip 2 from the high-level
        sequences (B, C, t) of clip 1, clip 2 and the global clip ``g``
        (used by ``global_head_batch='joint'`` only)."""
        if self.global_head_batch == 'joint':
            e1, e2, _ = self.global_neck(torch.cat([c1, c2, g])).split(
                c1.shape[0])
            return e1, e2
        return self.global_neck(c1), self.global_neck(c2)

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """Every weighted loss: ``loss_ts_{level}`` (levels with >= 2 time
        steps), ``loss_motion_{level}`` (excited levels),
        ``loss_instance``, ``loss_proto``, ``loss_graph_{level}`` (with
        ``use_graph``)."""
        levels = self.levels(self.clips_of(inputs))
        losses: Dict[str, torch.Tensor] = {}
        for level in levels:  # sum_l w_l L_ts(l) + sum_l w_l L_motion(l)
            losses.update(self.timestamp_head.loss(level))
            losses.update(self.motion_head.loss(level))
        high = levels[-1]
        z1 = high.projection.instance(high.clip1)
        z2 = high.projection.instance(high.clip2)
        losses.update(self.instance_head.loss(z1, z2))  # L_inst(high)
        proto, codes = self.proto_head.loss(  # L_proto
            *self.global_embeddings(high.clip1, high.clip2,
                                    high.global_clip),
            use_queue=self.use_queue, frozen=self.freeze_prototypes)
        losses.update(proto)
        if self.use_graph:  # sum_l w_l L_graph(l), G = G_ins * G_sem
            graph = self.graph_head.graph(z1, z2, codes)
            for level in levels:
                losses.update(self.graph_head.loss(level, graph))
        return losses

    def legacy_key_map(self) -> Mapping[str, str]:
        """The level and global projections were ``level_heads.*`` and
        ``global_head.*``, prototypes and queue the model's own."""
        return {'level_heads.': 'level_necks.',
                'global_head.': 'global_neck.',
                'prototypes.prototypes.weight': 'proto_head.prototypes.weight',
                'queue': 'proto_head.queue'}
