"""RGB-only contrastive baseline: two augmented clips of one video, InfoNCE."""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from .base import BaseSelfSupervisor


@MODELS.register_module()
class RGBContrast(BaseSelfSupervisor):
    """The contrastive baseline of CMD, built from CMD's parts.

    Two clips of the same video (own temporal position, crop, flip and
    colour each) go through the clip backbone and neck; the ``projector``
    (``ProjectionMLP``: global mean of the clip map, the vector CMD's
    context head reads, then CMD's projection MLP) maps it to an
    L2-normalised embedding, and the ``head`` (``ViewContrastHead``)
    contrasts the two views::

        view 1 ---+                              +-- z1 --+
                  +-> backbone -> neck -> projector        +-> head
        view 2 ---+                              +-- z2 --+
        loss = InfoNCE(z1 | z2 of all videos)  [+ InfoNCE(z2 | z1), halved]

    The positive of view 1 of video i is view 2 of video i; the negatives
    are the other videos' second views of all ranks (as CMD's context loss
    contrasts a clip with the keyframes of the other videos).

    Args:
        backbone: clip encoder cfg (the same as CMD's).
        clip_shape: (T, H, W) of training clips (to size the projection).
        hidden_channels: width of the default projector's hidden layer.
        out_channels: dimension of the default projector's embeddings.
        loss: loss cfg of the default head, called as ``loss(z1, z2)`` and
            returning ``(loss, accuracy)``; the default
            ``dict(type='GatheredInfoNCE', temperature=0.1,
            loss_weight=1.0)`` gathers the second views of every rank. Its
            ``loss_weight`` scales ``loss_contrast``.
        symmetric: the default head also contrasts view 2 against view 1
            and averages.
        data_preprocessor: cfg; ``CMDDataPreprocessor`` if None.
        init_cfg: mmengine init config of the whole model.
        neck: as CMD's (``dict(type='ClipMapFusion')`` for a backbone with
            two outputs); None: the backbone must return one map.
        projector: projection neck cfg; default ``dict(type='ProjectionMLP',
            hidden_channels=hidden_channels, out_channels=out_channels)``.
        head: head cfg; default ``dict(type='ViewContrastHead', loss=loss,
            symmetric=symmetric)``.
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
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 head: Optional[dict] = None) -> None:
        if projector is None:
            projector = dict(type='ProjectionMLP',
                             hidden_channels=hidden_channels,
                             out_channels=out_channels)
        if head is None:
            head = dict(type='ViewContrastHead', loss=loss,
                        symmetric=symmetric)
        super().__init__(backbone, data_preprocessor, init_cfg, neck=neck,
                         projector=projector, head=head,
                         clip_shape=clip_shape)

    def init_weights(self) -> None:
        """Backbone init, then Kaiming fan_out for the projection."""
        super().init_weights()
        if not self.init_cfg and hasattr(self.projector, 'reset_parameters'):
            self.projector.reset_parameters()

    def legacy_key_map(self) -> Mapping[str, str]:
        """The projection MLP was ``projection.*``."""
        return {'projection.': 'projector.'}

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
        z1, z2 = self.project(clips.transpose(0, 1).flatten(0, 1)).split(
            clips.shape[0])
        return self.head.loss(z1, z2)
