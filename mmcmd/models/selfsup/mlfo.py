"""MLFO: multi-level feature optimisation (Qian et al., ICCV 2021)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ..heads.mlfo_heads import MLFOGlobalHead, MLFOLevelHead, PrototypeHead
from ..losses import build_loss, gather_with_grad
from ..losses.mlfo_losses import similarity_graph
from .base import BaseSelfSupervisor, build_module, probe_output_shapes

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

    Schedule flags (set each epoch by ``MLFOScheduleHook``): ``use_graph``
    (graph constraint), ``use_queue`` (Sinkhorn over the score queue too),
    ``freeze_prototypes`` (no prototype gradient). The queue of past
    prototype scores (``queue_length`` x 2 x K, FIFO, filled every step)
    and the prototypes are a buffer and a parameter: checkpoints hold them.
    ``predict`` gives the pooled high map, like every self-supervisor.

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
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg)
        shapes = probe_output_shapes(
            backbone, (backbone.get('in_channels', 3), *clip_shape))
        if len(shapes) != 3:
            raise ValueError(f'MLFO: the backbone must return 3 maps (low, '
                             f'mid, high; set out_indices), got '
                             f'{len(shapes)}.')
        channels = [shape[0] for shape in shapes]
        neck = dict(neck)
        neck.setdefault('in_channels', channels)
        self.neck = build_module(neck)
        self.excite_levels = tuple(self.neck.excite_levels)
        if len(level_weights) != 3:
            raise ValueError('MLFO: level_weights needs 3 values.')
        self.level_weights = tuple(float(w) for w in level_weights)
        self.level_heads = torch.nn.ModuleList(
            MLFOLevelHead(c, out_channels) for c in channels)
        self.global_head = MLFOGlobalHead(channels[2], channels[2],
                                          out_channels)
        self.prototypes = PrototypeHead(out_channels, num_prototypes)
        self.instance_loss = build_loss(instance_loss)
        self.timestamp_loss = build_loss(timestamp_loss)
        self.motion_loss = build_loss(motion_loss)
        self.proto_loss = build_loss(proto_loss)
        self.graph_loss = build_loss(graph_loss)
        self.graph_temperature = graph_temperature
        self.graph_threshold = graph_threshold
        if global_head_batch not in GLOBAL_HEAD_BATCHES:
            raise ValueError(f'MLFO: global_head_batch must be one of '
                             f'{GLOBAL_HEAD_BATCHES}, got '
                             f'{global_head_batch!r}.')
        self.global_head_batch = global_head_batch
        self.register_buffer(
            'queue', torch.randn(queue_length, 2, num_prototypes))
        self.use_graph = False
        self.use_queue = False
        self.freeze_prototypes = False

    def set_schedule(self, use_graph: bool, use_queue: bool,
                     freeze_prototypes: bool) -> None:
        """Switch the epoch-driven parts (see ``MLFOScheduleHook``)."""
        self.use_graph = bool(use_graph)
        self.use_queue = bool(use_queue)
        self.freeze_prototypes = bool(freeze_prototypes)

    @torch.no_grad()
    def _enqueue(self, scores: torch.Tensor) -> None:
        """Push the global batch's scores (M, 2, K) to the queue front,
        last video first: the queue is newest row first, the released
        code's FIFO (newest last, train.py:299-304) read backwards, so the
        rows kept are the same even when M does not divide its length."""
        scores = scores.flip(0)[:len(self.queue)].to(self.queue)
        self.queue.copy_(torch.cat([scores, self.queue[:-len(scores)]]))

    def global_embeddings(self, c1: torch.Tensor, c2: torch.Tensor,
                          g: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Global-head embeddings of clip 1 and clip 2 from the high-level
        sequences (B, C, t) of clip 1, clip 2 and the global clip ``g``
        (used by ``global_head_batch='joint'`` only)."""
        if self.global_head_batch == 'joint':
            e1, e2, _ = self.global_head(torch.cat([c1, c2, g])).split(
                c1.shape[0])
            return e1, e2
        return self.global_head(c1), self.global_head(c2)

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """Every weighted loss: ``loss_instance``, ``loss_proto``,
        ``loss_ts_{level}`` (levels with >= 2 time steps),
        ``loss_motion_{level}`` (excited levels), ``loss_graph_{level}``
        (with ``use_graph``)."""
        clips = self.clips_of(inputs)
        if clips.dim() != 6 or clips.shape[1] != 3:
            raise ValueError(
                'MLFO.loss: expects clips (B, 3, 3, T, H, W): clip 1, clip 2 '
                f'and the global clip per video, got {tuple(clips.shape)}; '
                'use the MLFOViews transform.')
        b = clips.shape[0]
        levels = self.neck(self.extract_feat(
            clips.transpose(0, 1).flatten(0, 1)))
        losses: Dict[str, torch.Tensor] = {}
        graph_pairs = []
        for index, (name, seq, head, weight) in enumerate(zip(
                LEVEL_NAMES, levels, self.level_heads, self.level_weights)):
            c1, c2, g, *reversed_ = seq.split(b)
            if seq.shape[2] >= 2:
                losses[f'loss_ts_{name}'] = weight * self.timestamp_loss(
                    head.fine_steps(c1), head.fine_steps(c2),
                    head.fine_steps(g))
            if index in self.excite_levels:
                losses[f'loss_motion_{name}'] = weight * self.motion_loss(
                    head.instance(c1), head.instance(c2),
                    head.instance(reversed_[0]), head.instance(reversed_[1]))
            graph_pairs.append((c1, c2))
        c1, c2, g = levels[2].split(b)
        high = self.level_heads[2]
        z1, z2 = high.instance(c1), high.instance(c2)
        losses['loss_instance'] = self.instance_loss(z1, z2)

        if self.training:
            self.prototypes.normalize_()
        e1, e2 = self.global_embeddings(c1, c2, g)
        scores1 = self.prototypes(e1, frozen=self.freeze_prototypes)
        scores2 = self.prototypes(e2, frozen=self.freeze_prototypes)
        queue = self.queue.clone() if self.use_queue else None
        losses['loss_proto'], codes, scores = self.proto_loss(
            scores1, scores2, queue)
        if self.training:
            self._enqueue(scores)

        if self.use_graph:
            labels_all = codes.sum(dim=1).argmax(dim=1)
            z2_all, offset = gather_with_grad(z2.detach())
            graph = similarity_graph(
                z1.detach(), z2_all, labels_all[offset:offset + b],
                labels_all, offset, self.graph_temperature,
                self.graph_threshold)
            for (g1, g2), name, head, weight in zip(
                    graph_pairs, LEVEL_NAMES, self.level_heads,
                    self.level_weights):
                losses[f'loss_graph_{name}'] = weight * self.graph_loss(
                    head.graph_embed(g1), head.graph_embed(g2), graph)
        return losses
