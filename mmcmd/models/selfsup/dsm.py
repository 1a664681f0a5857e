"""DSM: Decoupling the Scene and the Motion (Wang et al., AAAI 2021).

Each video gives three clips (:class:`mmcmd.datasets.transforms.DSMViews`):
the anchor, a positive whose scene is broken and motion kept (Spatial
Local Disturbance) and a negative whose scene is kept and motion broken
(Temporal Local Disturbance). ``DSM`` contrasts them MoCo-style,
``DSMTriplet`` with a triplet margin loss. Their losses
(``DSMQueueInfoNCE``, ``DSMTripletLoss``) live in
:mod:`mmcmd.models.losses.dsm_losses`.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.model import ExponentialMovingAverage

from .base import BaseSelfSupervisor


class _DSMBase(BaseSelfSupervisor):
    """Clip encoder: backbone [+ neck] + projector (default
    ``LinearProjection``: global average pool, ``Linear(C,
    out_channels)``, L2 norm)."""

    def __init__(self, backbone: dict, clip_shape: Sequence[int],
                 out_channels: int, data_preprocessor: Optional[dict],
                 init_cfg: Optional[dict], neck: Optional[dict],
                 projector: Optional[dict], head: dict) -> None:
        if projector is None:
            projector = dict(type='LinearProjection',
                             out_channels=out_channels)
        super().__init__(backbone, data_preprocessor, init_cfg, neck=neck,
                         projector=projector, head=head,
                         clip_shape=clip_shape)

    @staticmethod
    def views(inputs) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(anchor, positive, negative) clips of a (B, 3, 3, T, H, W)
        batch."""
        clips = BaseSelfSupervisor.clips_of(inputs)
        if clips.dim() != 6 or clips.shape[1] != 3:
            raise ValueError(
                'DSM: expects clips (B, 3, 3, T, H, W), the anchor, '
                f'positive and negative of each video, got '
                f'{tuple(clips.shape)}; build them with DSMSampleFrames, '
                'CMDDecode and DSMViews.')
        return clips[:, 0], clips[:, 1], clips[:, 2]

    def legacy_key_map(self) -> Mapping[str, str]:
        """The projection ``Linear`` was ``head.*``."""
        return {'head.weight': 'projector.fc.weight',
                'head.bias': 'projector.fc.bias'}


@MODELS.register_module()
class DSM(_DSMBase):
    """DSM with a momentum key encoder and a key queue::

        anchor   --encoder----------> q ---+
        positive --momentum encoder-> k ---+-> [q.k | q.queue | q.n] / 0.07
        negative --encoder----------> n ---+      cross-entropy, target 0

    Encoder = clip backbone (+ neck) + projector (global average pool,
    ``Linear(C, out_channels)``, L2 norm). The momentum encoder is
    mmengine's :class:`~mmengine.model.ExponentialMovingAverage` of the
    encoder (``momentum_encoder``, the way mmpretrain's MoCo keeps its key
    encoder): before every forward of the loss in training mode its
    parameters become ``m * key + (1 - m) * encoder`` (the same as after
    every optimiser step; mmengine's ``momentum`` is ``1 - m``); its
    buffers (BatchNorm statistics) are copied from the encoder, and its
    BatchNorm uses batch statistics in training, as the released code.
    The first update copies the encoder. The ``head`` (``DSMHead``) owns
    the loss (``DSMQueueInfoNCE``) and its queue. Momentum encoder and
    queue are saved in checkpoints. The negative goes through the query
    encoder, with gradient. Anchor and negative are encoded in separate
    passes (own BN statistics).

    ``predict`` gives the clip embedding of :class:`BaseSelfSupervisor`
    (pooled backbone map of the query encoder), the encoder that
    finetuning starts from.

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone).
        clip_shape: (T, H, W) of training clips (to size the projector).
        out_channels: embedding dimension (128).
        queue_size: keys in the queue (3569 in every released script).
        temperature: logit temperature (0.07).
        momentum: m of the momentum encoder (0.999).
        loss_weight: factor of ``loss_dsm``.
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: cfg fusing several backbone outputs into one clip map; None:
            the backbone must return one map.
        projector: projection neck cfg; default ``dict(type=
            'LinearProjection', out_channels=out_channels)``.
        head: head cfg; default ``dict(type='DSMHead',
            loss=dict(type='DSMQueueInfoNCE', embed_dims=out_channels,
            queue_size=queue_size, temperature=temperature,
            loss_weight=loss_weight))``.
    """

    def __init__(self,
                 backbone: dict,
                 clip_shape: Sequence[int] = (16, 112, 112),
                 out_channels: int = 128,
                 queue_size: int = 3569,
                 temperature: float = 0.07,
                 momentum: float = 0.999,
                 loss_weight: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 head: Optional[dict] = None) -> None:
        if head is None:
            head = dict(type='DSMHead', loss=dict(
                type='DSMQueueInfoNCE', embed_dims=out_channels,
                queue_size=queue_size, temperature=temperature,
                loss_weight=loss_weight))
        super().__init__(backbone, clip_shape, out_channels,
                         data_preprocessor, init_cfg, neck, projector, head)
        self.momentum = momentum
        self.momentum_encoder = ExponentialMovingAverage(
            self.encoder(), momentum=1 - momentum)

    def init_weights(self) -> None:
        """Initialise the encoder, then copy it into the momentum encoder."""
        super().init_weights()
        with torch.no_grad():
            for key, query in zip(self.momentum_encoder.module.parameters(),
                                  self.encoder().parameters()):
                key.copy_(query)

    def loss(self, inputs, data_samples: Optional[List[ActionDataSample]]
             = None) -> Dict[str, torch.Tensor]:
        """``loss_dsm`` and ``acc_dsm`` (top-1 of the positive)."""
        anchor, positive, negative = self.views(inputs)
        if self.training:
            self.momentum_encoder.update_parameters(self.encoder())
        query = self.project(anchor)
        with torch.no_grad():
            key = self.momentum_encoder(positive)
        return self.head.loss(query, key, self.project(negative))

    def legacy_key_map(self) -> Mapping[str, str]:
        """The query projection was ``head.*``, the queue ``contrast.*``,
        the momentum encoder ``momentum_{backbone,neck,head}.*``."""
        index = len(self.encoder()) - 1  # the projector's place
        key_map = dict(super().legacy_key_map())
        key_map.update({
            'contrast.': 'head.loss_module.',
            'momentum_backbone.': 'momentum_encoder.module.0.',
            'momentum_neck.': 'momentum_encoder.module.1.',
            'momentum_head.': f'momentum_encoder.module.{index}.fc.',
        })
        return key_map

    def upgrade_legacy_state(self, state: dict, prefix: str = '') -> None:
        """Rename old keys; an old momentum encoder (no update counter) is
        taken as updated already, so the next update averages into it
        instead of overwriting it with the encoder."""
        old = any(k.startswith(prefix + 'momentum_head.') for k in state)
        super().upgrade_legacy_state(state, prefix)
        steps = prefix + 'momentum_encoder.steps'
        if old and steps not in state:
            state[steps] = torch.ones((), dtype=torch.long)


@MODELS.register_module()
class DSMTriplet(_DSMBase):
    """DSM(Triplet): one encoder for anchor, positive and negative::

        loss = triplet(q, k, n) + triplet(q, k, n of the mirrored video)

    (``DSMTripletHead`` with ``DSMTripletLoss``, margin 0.5, p = 2); no
    momentum encoder, no queue. Encoder and ``predict`` as :class:`DSM`;
    the three views are encoded in separate passes.

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone).
        clip_shape: (T, H, W) of training clips (to size the projector).
        out_channels: embedding dimension (128).
        margin: triplet margin (0.5).
        p: norm of the triplet distances (2).
        reversed_weight: weight of the mirrored-negative term (1).
        loss_weight: factor of ``loss_triplet``.
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: cfg fusing several backbone outputs into one clip map; None:
            the backbone must return one map.
        projector: projection neck cfg; default ``dict(type=
            'LinearProjection', out_channels=out_channels)``.
        head: head cfg; default ``dict(type='DSMTripletHead',
            loss=dict(type='DSMTripletLoss', margin=margin, p=p,
            reversed_weight=reversed_weight, loss_weight=loss_weight))``.
    """

    def __init__(self,
                 backbone: dict,
                 clip_shape: Sequence[int] = (16, 112, 112),
                 out_channels: int = 128,
                 margin: float = 0.5,
                 p: float = 2.0,
                 reversed_weight: float = 1.0,
                 loss_weight: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 head: Optional[dict] = None) -> None:
        if head is None:
            head = dict(type='DSMTripletHead', loss=dict(
                type='DSMTripletLoss', margin=margin, p=p,
                reversed_weight=reversed_weight, loss_weight=loss_weight))
        super().__init__(backbone, clip_shape, out_channels,
                         data_preprocessor, init_cfg, neck, projector, head)

    def loss(self, inputs, data_samples: Optional[List[ActionDataSample]]
             = None) -> Dict[str, torch.Tensor]:
        """``loss_triplet`` and ``acc_triplet`` (share of anchors nearer
        their positive than their negative)."""
        anchor, positive, negative = self.views(inputs)
        return self.head.loss(self.project(anchor), self.project(positive),
                              self.project(negative))

