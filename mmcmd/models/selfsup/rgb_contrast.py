"""RGB-only contrastive baseline: two augmented clips of one video, InfoNCE."""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ..heads.projection import ProjectionMLP
from ..losses import build_loss
from .base import BaseSelfSupervisor, global_pool


@MODELS.register_module()
class RGBContrast(BaseSelfSupervisor):
    """The contrastive baseline of CMD, built from CMD's parts.

    Two clips of the same video (own temporal position, crop, flip and
    colour each) go through the clip backbone; the clip vector is the global
    mean of the fused clip map (the vector CMD's context head reads), and a
    shared projection MLP maps it to an L2-normalised embedding::

        view 1 ---+                       +-- z1 --+
                  +-> backbone -> fuse -> mean -> proj
        view 2 ---+                       +-- z2 --+
        loss = InfoNCE(z1 | z2 of all videos)  [+ InfoNCE(z2 | z1), halved]

    The positive of view 1 of video i is view 2 of video i; the negatives
    are the other videos' second views of all ranks (as CMD's context loss
    contrasts a clip with the keyframes of the other videos).

    Args:
        backbone: clip encoder cfg (the same as CMD's).
        clip_shape: (T, H, W) of training clips (to size the projection).
        hidden_channels: width of the projection MLP's hidden layer.
        out_channels: dimension of the normalised embeddings contrasted.
        loss: loss cfg called as ``loss(z1, z2)`` and returning ``(loss,
            accuracy)``; the default ``dict(type='GatheredInfoNCE',
            temperature=0.1, loss_weight=1.0)`` gathers the second views of
            every rank. Its ``loss_weight`` scales ``loss_contrast``.
        symmetric: also contrast view 2 against view 1 and average.
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: as CMD's (``dict(type='ClipMapFusion')`` for a backbone with
            two outputs); None: the backbone must return one map.
    """

    def __init__(self,
                 backbone: dict,
                 clip_shape: tuple = (16, 112, 112),
                 hidden_channels: int = 2048,
                 out_channels: int = 512,
                 loss: dict = dict(type='GatheredInfoNCE'),
                 symmetric: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 neck: Optional[dict] = None) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg, neck=neck)
        self.projection = ProjectionMLP(self.clip_map_shape(clip_shape)[0],
                                        hidden_channels, out_channels)
        self.loss_module = build_loss(loss)
        self.symmetric = symmetric

    def init_weights(self) -> None:
        """Backbone init, then Kaiming fan_out for the projection."""
        super().init_weights()
        if not self.init_cfg:
            self.projection.reset_parameters()

    def project(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) clips -> (N, D) normalised projections."""
        return self.projection(global_pool(self.clip_map(clips)))

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List[ActionDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """``loss_contrast`` and ``acc_contrast`` (top-1 of the positive)."""
        clips = self.clips_of(inputs)
        if clips.dim() != 6 or clips.shape[1] != 2:
            raise ValueError(
                'RGBContrast.loss: expects clips (B, 2, 3, T, H, W), two '
                f'views per video, got {tuple(clips.shape)}; wrap the view '
                'pipeline in MultiView(num_views=2, transforms=[...]).')
        num_videos = clips.shape[0]
        z = self.project(clips.transpose(0, 1).flatten(0, 1))
        z1, z2 = z[:num_videos], z[num_videos:]
        loss, acc = self.loss_module(z1, z2)
        if self.symmetric:
            loss_back, acc_back = self.loss_module(z2, z1)
            loss, acc = (loss + loss_back) / 2, (acc + acc_back) / 2
        return dict(loss_contrast=loss, acc_contrast=acc)
