"""Random in-plane rotation of an RGB clip, one angle per clip."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image

#: PIL resampling filters by name.
RESAMPLE = {'bilinear': Image.BILINEAR, 'nearest': Image.NEAREST}


def rotate_frames(frames: np.ndarray, angle: float,
                  interpolation: str = 'bilinear') -> np.ndarray:
    """Rotate uint8 images (..., H, W, C) by ``angle`` degrees.

    Positive angles turn the content counter-clockwise about the image
    centre; the output keeps the input size and pixels that come from
    outside the frame are 0.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise TypeError(f'rotate_frames expects uint8 images, got '
                        f'{frames.dtype}')
    flat = frames.reshape((-1, ) + frames.shape[-3:])
    resample = RESAMPLE[interpolation]
    out = np.empty_like(flat)
    for i, frame in enumerate(flat):
        image = Image.fromarray(frame[..., 0] if frame.shape[-1] == 1
                                else frame)
        rotated = np.asarray(image.rotate(angle, resample=resample))
        out[i] = rotated.reshape(frame.shape)
    return out.reshape(frames.shape)


@TRANSFORMS.register_module()
class RandomRotation(BaseTransform):
    """Rotate every frame of a clip by one random angle.

    The angle is drawn uniformly from ``[-max_angle, max_angle]`` degrees
    once per sample and shared by all frames of every key in ``keys``, so
    the clip stays temporally consistent. The rotation is about the image
    centre (PIL's ``Image.rotate``: counter-clockwise for positive angles,
    output size kept, corners filled with 0). The reference finetuning
    rotates by up to 10 degrees before its random resized crop.

    Only RGB is rotated: a pipeline that carries motion fields is refused,
    since rotating the vectors themselves is not implemented.

    Required Keys:

        - the ``keys`` present (uint8 (T, H, W, C) array, list of (H, W, C)
          frames, or one (H, W, C) image)

    Added Keys:

        - rotation_angle: the drawn angle in degrees

    Modified Keys:

        - the ``keys`` present (uint8, same shape)

    Args:
        max_angle: largest rotation in degrees (> 0).
        keys: results keys rotated by the same angle.
        interpolation: ``'bilinear'`` or ``'nearest'`` (the reference's
            ``Image.rotate`` default).
    """

    def __init__(self, max_angle: float = 10.0,
                 keys: Sequence[str] = ('imgs', ),
                 interpolation: str = 'bilinear') -> None:
        if max_angle <= 0:
            raise ValueError(f'RandomRotation: max_angle must be > 0, got '
                             f'{max_angle}')
        if interpolation not in RESAMPLE:
            raise ValueError(f'RandomRotation: interpolation must be one of '
                             f'{sorted(RESAMPLE)}, got {interpolation!r}')
        self.max_angle = float(max_angle)
        self.keys = tuple(keys)
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        """Draw one angle and rotate every present key by it."""
        motion = results.get('motion')
        if motion is not None and len(motion):
            raise ValueError('RandomRotation rotates RGB frames only; this '
                             'pipeline carries motion fields.')
        angle = float(np.random.uniform(-self.max_angle, self.max_angle))
        for key in self.keys:
            if key in results:
                results[key] = rotate_frames(
                    np.asarray(results[key]), angle, self.interpolation)
        results['rotation_angle'] = angle
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_angle={self.max_angle}, '
                f'keys={self.keys}, interpolation={self.interpolation!r})')
