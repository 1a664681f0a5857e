"""DSM: Decoupling the Scene and the Motion (Wang et al., AAAI 2021).

Each video gives three clips (:class:`mmcmd.datasets.transforms.DSMViews`):
the anchor, a positive whose scene is broken and motion kept (Spatial
Local Disturbance) and a negative whose scene is kept and motion broken
(Temporal Local Disturbance). ``DSM`` contrasts them MoCo-style,
``DSMTriplet`` with a triplet margin loss.
"""
from __future__ import annotations

import copy
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from torch import nn

from ..losses.info_nce import gather_with_grad
from .base import BaseSelfSupervisor, global_pool


# ------------------------------------------------------------------ losses
def dsm_logits(query: torch.Tensor, key: torch.Tensor, queue: torch.Tensor,
               negative: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, 1 + K + 1) logits ``[q.k | q.queue_1..K | q.n] / temperature``;
    the positive is column 0."""
    positive = (query * key).sum(dim=1, keepdim=True)
    intra = (query * negative).sum(dim=1, keepdim=True)
    return torch.cat([positive, query @ queue.t(), intra],
                     dim=1) / temperature


class DSMQueueInfoNCE(nn.Module):
    """InfoNCE over ``[positive | key queue | intra-video negative]``.

    ``forward(query, key, negative)`` ((B, D) each, L2-normalised;
    ``key`` from the momentum encoder, detached) returns ``(loss, top-1
    accuracy of the positive)`` with the queue as it was, then pushes the
    keys of every rank (gathered, in rank order) into the FIFO queue. The
    queue and its write position are buffers (saved in checkpoints, so a
    resumed run continues with the same queue). The queue starts as
    uniform values in +-1/sqrt(D/3), not normalised, as the released code.

    Ranks see the same queue, and the positive and the intra-video
    negative of a clip are its own, so the loss of a batch split over ranks
    equals that of the whole batch in one process (only the encoders' BN
    statistics, per rank, differ).

    Args:
        embed_dims: D, the embedding dimension.
        queue_size: K, keys kept (3569 in every released script).
        temperature: divides the logits.
    """

    def __init__(self, embed_dims: int = 128, queue_size: int = 3569,
                 temperature: float = 0.07) -> None:
        super().__init__()
        self.temperature = temperature
        bound = 1.0 / math.sqrt(embed_dims / 3)
        self.register_buffer(
            'queue', torch.rand(queue_size, embed_dims) * 2 * bound - bound)
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (N, D) at the queue's pointer, wrapping around."""
        size = self.queue.shape[0]
        rows = (self.queue_ptr + torch.arange(keys.shape[0],
                                              device=keys.device)) % size
        self.queue.index_copy_(0, rows, keys.to(self.queue.dtype))
        self.queue_ptr.copy_((self.queue_ptr + keys.shape[0]) % size)

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                negative: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(mean cross-entropy at column 0, accuracy); then enqueue keys."""
        key = key.detach()
        logits = dsm_logits(query, key, self.queue.clone().detach(),
                            negative, self.temperature)
        target = torch.zeros(query.shape[0], dtype=torch.long,
                             device=query.device)
        loss = F.cross_entropy(logits.float(), target)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=1) == 0).float().mean()
        if self.training:
            self.enqueue(gather_with_grad(key)[0])
        return loss, accuracy

    def extra_repr(self) -> str:
        return (f'queue_size={self.queue.shape[0]}, '
                f'temperature={self.temperature}')


class DSMTripletLoss(nn.Module):
    """``triplet(q, k, n) + reversed_weight * triplet(q, k, n reversed)``.

    ``triplet`` is ``mean_i max(|q_i - k_i|_p - |q_i - n_i|_p + margin,
    0)`` (``nn.TripletMarginLoss``). The second term gives each anchor the
    negative of the video at the mirrored place of the batch (another
    video's intra-video negative; with an odd batch the middle video keeps
    its own). The batch is the global one: negatives are gathered from
    every rank (gradients flow back to their owners), reversed, and each
    rank takes its slice, so ranks together equal one process on the whole
    batch (BN statistics aside).

    Args:
        margin: the triplet margin.
        p: the norm of the distances.
        reversed_weight: weight of the reversed-batch term (1 in the
            released code; 0 drops it).
    """

    def __init__(self, margin: float = 0.5, p: float = 2.0,
                 reversed_weight: float = 1.0) -> None:
        super().__init__()
        self.triplet = nn.TripletMarginLoss(margin=margin, p=p)
        self.reversed_weight = reversed_weight

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                negative: torch.Tensor) -> torch.Tensor:
        """The weighted sum of both terms (mean over the local anchors)."""
        loss = self.triplet(query, key, negative)
        if self.reversed_weight:
            everyone, offset = gather_with_grad(negative)
            mirrored = everyone.flip(0)[offset:offset + negative.shape[0]]
            loss = loss + self.reversed_weight * self.triplet(
                query, key, mirrored)
        return loss


# ---------------------------------------------------------------- models
class _DSMBase(BaseSelfSupervisor):
    """Clip encoder + projection ``Linear(C, out_channels)`` + L2 norm."""

    def __init__(self, backbone: dict, clip_shape: Sequence[int],
                 out_channels: int, data_preprocessor: Optional[dict],
                 init_cfg: Optional[dict], neck: Optional[dict]) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg, neck=neck)
        self.head = nn.Linear(self.clip_map_shape(clip_shape)[0],
                              out_channels)

    def project(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) clips -> (N, out_channels) unit embeddings."""
        return F.normalize(self.head(global_pool(self.clip_map(clips))),
                           dim=1)

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


@MODELS.register_module()
class DSM(_DSMBase):
    """DSM with a momentum key encoder and a key queue::

        anchor   --encoder----------> q ---+
        positive --momentum encoder-> k ---+-> [q.k | q.queue | q.n] / 0.07
        negative --encoder----------> n ---+      cross-entropy, target 0

    Encoder = clip backbone (+ neck), global average pool, ``Linear(C,
    out_channels)``, L2 norm. The momentum encoder is a copy whose
    parameters follow ``m * momentum + (1 - m) * encoder`` before every
    forward of the loss (the same as after every optimiser step; buffers
    are not averaged, and its BatchNorm uses batch statistics in training,
    as the released code). Its parameters and the queue
    (:class:`DSMQueueInfoNCE`) are saved in checkpoints. The negative goes
    through the query encoder, with gradient. Anchor and negative are
    encoded in separate passes (own BN statistics).

    ``predict`` gives the clip embedding of :class:`BaseSelfSupervisor`
    (pooled backbone map of the query encoder), the encoder that
    finetuning starts from.

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone).
        clip_shape: (T, H, W) of training clips (to size the head).
        out_channels: embedding dimension (128).
        queue_size: keys in the queue (3569 in every released script).
        temperature: logit temperature (0.07).
        momentum: m of the momentum encoder (0.999).
        loss_weight: factor of ``loss_dsm``.
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: cfg fusing several backbone outputs into one clip map; None:
            the backbone must return one map.
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
                 neck: Optional[dict] = None) -> None:
        super().__init__(backbone, clip_shape, out_channels,
                         data_preprocessor, init_cfg, neck)
        self.momentum = momentum
        self.loss_weight = loss_weight
        self.momentum_backbone = copy.deepcopy(self.backbone)
        self.momentum_neck = copy.deepcopy(self.neck)
        self.momentum_head = copy.deepcopy(self.head)
        for param in self.momentum_parameters():
            param.requires_grad_(False)
        self.contrast = DSMQueueInfoNCE(out_channels, queue_size,
                                        temperature)

    def _pairs(self):
        pairs = [(self.momentum_backbone, self.backbone),
                 (self.momentum_head, self.head)]
        if self.neck is not None:
            pairs.append((self.momentum_neck, self.neck))
        for target, source in pairs:
            yield from zip(target.parameters(), source.parameters())

    def momentum_parameters(self):
        """The momentum encoder's parameters."""
        return (target for target, _ in self._pairs())

    def init_weights(self) -> None:
        """Initialise the encoder, then copy it into the momentum encoder."""
        super().init_weights()
        with torch.no_grad():
            for target, source in self._pairs():
                target.copy_(source)

    @torch.no_grad()
    def momentum_update(self) -> None:
        """momentum encoder <- m * momentum encoder + (1 - m) * encoder."""
        for target, source in self._pairs():
            target.mul_(self.momentum).add_(source.detach(),
                                            alpha=1 - self.momentum)

    @torch.no_grad()
    def project_key(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) -> (N, out_channels) momentum-encoder keys."""
        features = self.momentum_backbone(clips)
        if self.momentum_neck is not None:
            clip_map = self.momentum_neck(features)
        else:
            clip_map = (features[-1] if isinstance(features, (tuple, list))
                        else features)
        return F.normalize(self.momentum_head(global_pool(clip_map)), dim=1)

    def loss(self, inputs, data_samples: Optional[List[ActionDataSample]]
             = None) -> Dict[str, torch.Tensor]:
        """``loss_dsm`` and ``acc_dsm`` (top-1 of the positive)."""
        anchor, positive, negative = self.views(inputs)
        if self.training:
            self.momentum_update()
        query = self.project(anchor)
        key = self.project_key(positive)
        intra = self.project(negative)
        loss, accuracy = self.contrast(query, key, intra)
        return dict(loss_dsm=loss * self.loss_weight, acc_dsm=accuracy)


@MODELS.register_module()
class DSMTriplet(_DSMBase):
    """DSM(Triplet): one encoder for anchor, positive and negative::

        loss = triplet(q, k, n) + triplet(q, k, n of the mirrored video)

    (:class:`DSMTripletLoss`, margin 0.5, p = 2); no momentum encoder, no
    queue. Encoder and ``predict`` as :class:`DSM`; the three views are
    encoded in separate passes.

    Args:
        backbone: clip encoder cfg (any mmcmd or mmaction2 3D backbone).
        clip_shape: (T, H, W) of training clips (to size the head).
        out_channels: embedding dimension (128).
        margin: triplet margin (0.5).
        p: norm of the triplet distances (2).
        reversed_weight: weight of the mirrored-negative term (1).
        loss_weight: factor of ``loss_triplet``.
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: cfg fusing several backbone outputs into one clip map; None:
            the backbone must return one map.
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
                 neck: Optional[dict] = None) -> None:
        super().__init__(backbone, clip_shape, out_channels,
                         data_preprocessor, init_cfg, neck)
        self.loss_weight = loss_weight
        self.triplet = DSMTripletLoss(margin, p, reversed_weight)

    def loss(self, inputs, data_samples: Optional[List[ActionDataSample]]
             = None) -> Dict[str, torch.Tensor]:
        """``loss_triplet`` and ``acc_triplet`` (share of anchors nearer
        their positive than their negative)."""
        anchor, positive, negative = self.views(inputs)
        query = self.project(anchor)
        key = self.project(positive)
        intra = self.project(negative)
        loss = self.triplet(query, key, intra)
        with torch.no_grad():
            accuracy = ((query - key).norm(dim=1) <
                        (query - intra).norm(dim=1)).float().mean()
        return dict(loss_triplet=loss * self.loss_weight,
                    acc_triplet=accuracy)
