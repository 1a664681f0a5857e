"""RGB-only contrastive baseline: two augmented clips of one video, InfoNCE."""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ..heads.projection import ProjectionMLP
from ..losses import GatheredInfoNCE
from .base import BaseSelfSupervisor, global_pool, probe_output_shapes
from .cmd import fuse_clip_maps


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
        hidden_channels / out_channels: projection MLP widths.
        temperature: InfoNCE temperature.
        symmetric: also contrast view 2 against view 1 and average.
        loss_weight: factor of ``loss_contrast``.
    """

    def __init__(self,
                 backbone: dict,
                 clip_shape: tuple = (16, 112, 112),
                 hidden_channels: int = 2048,
                 out_channels: int = 512,
                 temperature: float = 0.1,
                 symmetric: bool = True,
                 loss_weight: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg)
        clip_in = backbone.get('in_channels', 3)
        clip_outs = probe_output_shapes(backbone, (clip_in, *clip_shape))
        with torch.device('meta'):
            fused = fuse_clip_maps(tuple(
                torch.empty(1, *s, device='meta') for s in clip_outs))
        self.projection = ProjectionMLP(fused.shape[1], hidden_channels,
                                        out_channels)
        self.criterion = GatheredInfoNCE(temperature)
        self.symmetric = symmetric
        self.loss_weight = loss_weight

    def init_weights(self) -> None:
        """Backbone init, then Kaiming fan_out for the projection."""
        super().init_weights()
        if not self.init_cfg:
            self.projection.reset_parameters()

    def project(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) clips -> (N, D) normalised projections."""
        return self.projection(global_pool(fuse_clip_maps(
            self.extract_feat(clips))))

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
        loss, acc = self.criterion(z1, z2)
        if self.symmetric:
            loss_back, acc_back = self.criterion(z2, z1)
            loss, acc = (loss + loss_back) / 2, (acc + acc_back) / 2
        return dict(loss_contrast=loss * self.loss_weight, acc_contrast=acc)
