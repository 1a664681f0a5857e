"""Pictures for people: motion fields in colour, animations of them.

``motion`` needs numpy and matplotlib only; ``animation`` streams pictures
into GIF (Pillow) or MP4 (PyAV) files.
"""
from .animation import AnimationWriter
from .motion import (
                     MotionPicture,
                     MotionPictureRenderer,
                     choose_strongest,
                     colour_wheel,
                     default_scale,
                     direction_hue,
                     flow_to_rgb,
                     format_scale,
                     frame_full_scale,
                     motion_strength,
                     render_motion_picture,
                     robust_strength,
                     strongest_frame,
)

__all__ = [
    'AnimationWriter', 'MotionPicture', 'MotionPictureRenderer',
    'choose_strongest', 'colour_wheel', 'default_scale', 'direction_hue',
    'flow_to_rgb', 'format_scale', 'frame_full_scale', 'motion_strength',
    'render_motion_picture', 'robust_strength', 'strongest_frame'
]
