"""Short-side resize with PIL's antialiased bilinear filter (RGB only)."""
from __future__ import annotations

from typing import Tuple

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image


def short_side_size(height: int, width: int,
                    short_side: int) -> Tuple[int, int]:
    """(height, width) after scaling the short side to ``short_side`` px;
    the long side is rounded (Python ``round``)."""
    scale = short_side / min(height, width)
    return int(round(height * scale)), int(round(width * scale))


@TRANSFORMS.register_module()
class PILResize(BaseTransform):
    """Resize every frame so its short side is ``short_side`` pixels.

    Uses PIL's ``Image.resize(..., BILINEAR)`` on the uint8 frames, which
    antialiases when shrinking: the resize of the ModelScope embedding
    pipeline, reproduced exactly. (mmaction2's ``Resize`` uses OpenCV's
    bilinear filter, which does not antialias.) Only RGB frames are resized;
    pipelines with motion fields use :class:`CMDResize`, which keeps them
    consistent.

    Required Keys:

        - imgs: uint8 (T, H, W, 3) array or list of (H, W, 3) frames
        - img_shape

    Modified Keys:

        - imgs: uint8 (T, H', W', 3) array
        - img_shape

    Added Keys:

        - scale_factor: (w_scale, h_scale), multiplied into an existing one
        - keep_ratio: True

    Args:
        short_side: length of the short side after resizing (pixels).
    """

    def __init__(self, short_side: int = 128) -> None:
        if short_side < 1:
            raise ValueError(f'PILResize: short_side must be >= 1, got '
                             f'{short_side}')
        self.short_side = short_side

    def transform(self, results: dict) -> dict:
        """Resize ``results['imgs']`` and update the shape keys."""
        motion = results.get('motion')
        if motion is not None and len(motion):
            raise ValueError('PILResize resizes RGB frames only; this '
                             'pipeline carries motion fields: use CMDResize '
                             'so that they are scaled with the frames.')
        height, width = results['img_shape']
        out_h, out_w = short_side_size(height, width, self.short_side)
        frames = results['imgs']
        if (out_h, out_w) != (height, width):
            frames = [np.asarray(Image.fromarray(np.asarray(frame)).resize(
                (out_w, out_h), Image.BILINEAR)) for frame in frames]
        results['imgs'] = np.stack(frames) if len(frames) else \
            np.zeros((0, out_h, out_w, 3), np.uint8)
        factor = np.array([out_w / width, out_h / height], np.float32)
        results['scale_factor'] = results.get(
            'scale_factor', np.ones(2, np.float32)) * factor
        results['img_shape'] = (out_h, out_w)
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(short_side={self.short_side})'
