"""Stack, move to device and normalise CMD inputs (clip, keyframe, motion)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmaction.registry import MODELS
from mmengine.model import BaseDataPreprocessor

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
RGB_KEYS = ('imgs', 'keyframe')
MOTION_KEYS = ('motion', 'negative_motion')


def stack_batch(items: Union[torch.Tensor, Sequence[Any]], key: str
                ) -> torch.Tensor:
    """Stack a list of per-sample arrays/tensors along a new dim 0."""
    if isinstance(items, torch.Tensor):
        return items
    tensors = [torch.as_tensor(np.ascontiguousarray(x))
               if isinstance(x, np.ndarray) else x for x in items]
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(
            f'CMDDataPreprocessor: samples of {key!r} differ in shape '
            f'{sorted(shapes)}; crop/resize all samples to one size in the '
            'pipeline.')
    return torch.stack(tensors)


@MODELS.register_module()
class CMDDataPreprocessor(BaseDataPreprocessor):
    """Turn a pseudo-collated batch into model tensors.

    Pretraining batches: ``inputs`` is a dict (or a list of per-sample dicts)
    with ``imgs`` uint8 (3, T, H, W) RGB, ``keyframe`` uint8 (3, H, W) RGB,
    ``motion`` float32 (2, T_m, H, W) and ``negative_motion`` float32
    (N, 2, T_m, H, W). RGB tensors are normalised with ``mean`` / ``std``
    (RGB order, 0..255 scale); motion is passed through unchanged.

    Embedding batches: ``inputs`` is a list of uint8 clips (3, T, H, W) or
    (num_clips, 3, T, H, W); the result is a normalised (B, 3, T, H, W) or
    (B, num_clips, 3, T, H, W) tensor.

    Batches collated by ``default_collate`` (the pretraining configs' loader
    setting) arrive stacked, so the main process does no per-sample work:
    one copy per tensor to the device (asynchronous from the loader's pinned
    memory on a GPU) and the normalisation there. In training, the data
    samples of a pretraining batch (metadata only; no self-supervisor's loss
    reads them) stay where they are instead of being moved one by one.

    Args:
        mean: per-channel mean (R, G, B) on the 0..255 scale.
        std: per-channel standard deviation (R, G, B) on the 0..255 scale.
        non_blocking: copy to the device asynchronously (a no-op on the
            CPU; asynchronous on a GPU when the loader pins memory).
    """

    def __init__(self,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 non_blocking: bool = True) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('CMDDataPreprocessor: mean and std need 3 '
                             'values (R, G, B).')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32),
                             persistent=False)

    def normalize(self, rgb: torch.Tensor, channel_dim: int) -> torch.Tensor:
        """(x - mean) / std as float32 with the colour axis at ``channel_dim``."""
        shape = [1] * rgb.dim()
        shape[channel_dim] = 3
        if rgb.shape[channel_dim] != 3:
            raise ValueError(f'CMDDataPreprocessor: expected 3 RGB channels '
                             f'at dim {channel_dim}, got {tuple(rgb.shape)}.')
        # one float copy, then in place: the same numbers as
        # (x - mean) / std without two more batch-sized allocations (on a
        # CPU shared with loader workers, 4 ms instead of 24 for a batch of
        # 8 16x112x112 clips; docs/performance.md)
        out = rgb.float()
        if out is rgb:  # already float: keep the caller's tensor intact
            out = rgb.clone()
        return out.sub_(self.mean.view(shape)).div_(self.std.view(shape))

    def _pretrain_inputs(self, inputs: Mapping[str, Any]
                         ) -> Dict[str, torch.Tensor]:
        out = {key: stack_batch(value, key) for key, value in inputs.items()}
        out = self.cast_data(out)
        if 'imgs' in out:
            out['imgs'] = self.normalize(out['imgs'], out['imgs'].dim() - 4)
        if 'keyframe' in out:
            out['keyframe'] = self.normalize(out['keyframe'], 1)
        for key in MOTION_KEYS:
            if key in out:
                out[key] = out[key].float()
        return out

    def forward(self, data: dict, training: bool = False) -> dict:
        """Return ``dict(inputs=..., data_samples=...)`` on the model device."""
        inputs = data['inputs']
        data_samples: Optional[List] = data.get('data_samples')
        if isinstance(inputs, (list, tuple)) and inputs and isinstance(
                inputs[0], Mapping):
            inputs = {key: [sample[key] for sample in inputs]
                      for key in inputs[0]}
        pretraining = isinstance(inputs, Mapping)
        if pretraining:
            inputs = self._pretrain_inputs(inputs)
        else:
            clips = self.cast_data(stack_batch(inputs, 'imgs'))
            if clips.dim() not in (5, 6):
                raise ValueError(
                    'CMDDataPreprocessor: clips must be (3, T, H, W) or '
                    f'(num_clips, 3, T, H, W) per sample, got batch shape '
                    f'{tuple(clips.shape)}.')
            inputs = self.normalize(clips, clips.dim() - 4)
        if data_samples is not None and not (training and pretraining):
            data_samples = self.cast_data(data_samples)
        return dict(inputs=inputs, data_samples=data_samples)
