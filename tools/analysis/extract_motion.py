"""Extract the motion-vector field of a video to .npz, and draw it.

The .npz (-o) holds ``motion`` float32 (N, 2, ceil(H/4), ceil(W/4)) in px
per frame (x, y; forward in time; see docs/codec.md), ``mask`` bool
(N, ceil(H/4), ceil(W/4)), ``pict_types`` ('I'/'P'/'B' per frame),
``keyframes`` (display indices), ``fps`` and ``size`` (width, height).

The pictures (--png, --gif, --mp4) show each frame next to its motion:
hue = direction (the colour wheel beside it), saturation = speed (white =
still, full colour at the printed px/frame), black = no vector. Each frame
is scaled to its own motion unless --max-motion fixes the scale. I-frames
and other frames without vectors say so on the motion panel.

Examples:
    python tools/analysis/extract_motion.py video.mp4 --png motion.png
    python tools/analysis/extract_motion.py video.mp4 -o motion.npz
    python tools/analysis/extract_motion.py video.mp4 --gif m.gif \\
        --start 100 --frames 48 --scale 0.5

Exit status: 0 on success, 1 when the video cannot be read, 2 for bad
arguments.
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmcmd.codec import CodecError, CompressedVideo
from mmcmd.visualization import (
    AnimationWriter,
    MotionPictureRenderer,
    default_scale,
    format_scale,
    motion_strength,
)

#: frames per motion-only decode call, so long videos stream through memory.
CHUNK_FRAMES = 256
#: frames per RGB + motion decode call of an animation.
ANIMATION_CHUNK = 16
#: default range of a panel's long side, px: one picture, animations.
PICTURE_SIZE = (320, 640)
ANIMATION_SIZE = (240, 400)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('video', help='input video (H.264, MPEG-4, MPEG-2)')
    parser.add_argument('-o', '--out', help='output .npz of the whole video '
                        '(default: none)')
    parser.add_argument('--raw', action='store_true', help='raw vectors: no '
                        'division by the distance to the reference frame')
    parser.add_argument('--png', help='draw one frame and its motion here '
                        '(default: none)')
    parser.add_argument('--frame', type=int, help='frame for --png (default: '
                        'the frame with the strongest motion)')
    parser.add_argument('--gif', help='animation of frames and motion, '
                        'GIF (default: none)')
    parser.add_argument('--mp4', help='animation of frames and motion, '
                        'H.264 MP4 (default: none)')
    parser.add_argument('--start', type=int, default=0,
                        help='first frame of the animation (default: 0)')
    parser.add_argument('--frames', type=int, default=64,
                        help='frames in the animation (default: 64; '
                        '0 = to the end)')
    parser.add_argument('--scale', type=float, help='size factor of each '
                        'picture panel (default: 1, or the factor bringing '
                        'the\nframe\'s long side into [320, 640] px for '
                        '--png, [240, 400] px for\nan animation)')
    parser.add_argument('--max-motion', type=float, help='speed drawn at '
                        'full colour in every frame, px/frame (default: '
                        'per frame,\nthe 75th percentile of its moving '
                        'cells)')
    parser.add_argument('--threads', type=int, default=1,
                        help='decoder threads (default: 1; 0 = automatic)')
    args = parser.parse_args(argv)
    if not (args.out or args.png or args.gif or args.mp4):
        parser.error('nothing to write: give -o OUT.npz, --png, --gif or '
                     '--mp4')
    for name in ('scale', 'max_motion'):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f'--{name.replace("_", "-")} must be > 0, got '
                         f'{value}')
    if args.frames < 0 or args.start < 0:
        parser.error('--start and --frames must be >= 0')
    return args


def scan_motion(video: CompressedVideo, raw: bool, keep: bool
                ) -> Tuple[np.ndarray, Optional[np.ndarray],
                           Optional[np.ndarray]]:
    """Motion strength per frame, and the fields and masks if ``keep``.

    Decodes motion only, :data:`CHUNK_FRAMES` frames at a time.
    """
    from tqdm import tqdm
    strength, motion, mask = [], [], []
    total = video.num_frames
    with tqdm(total=total, desc='motion', unit='frame') as bar:
        for start in range(0, total, CHUNK_FRAMES):
            chunk = np.arange(start, min(start + CHUNK_FRAMES, total))
            fields, masks = video.read_motion(chunk, raw=raw)
            strength.append(motion_strength(fields, masks))
            if keep:
                motion.append(fields)
                mask.append(masks)
            bar.update(len(chunk))
    return (np.concatenate(strength),
            np.concatenate(motion) if keep else None,
            np.concatenate(mask) if keep else None)


def write_npz(path: str, video: CompressedVideo, motion: np.ndarray,
              mask: np.ndarray) -> None:
    """The .npz of the module docstring."""
    index = video.index
    np.savez_compressed(
        path, motion=motion, mask=mask, pict_types=index.pict_types,
        keyframes=index.keyframes, fps=np.float64(video.fps),
        size=np.array([video.width, video.height]))


def make_renderer(video: CompressedVideo, args: argparse.Namespace,
                  animation: bool = False) -> MotionPictureRenderer:
    """The picture renderer for this video and the size/scale options."""
    scale = args.scale or default_scale(
        video.width, video.height, *(ANIMATION_SIZE if animation else
                                     PICTURE_SIZE))
    return MotionPictureRenderer(video.width, video.height, scale,
                                 args.max_motion)


def write_animation(video: CompressedVideo, outputs: Dict[str, str],
                    frames: np.ndarray, args: argparse.Namespace) -> int:
    """Draw ``frames`` into each file of ``outputs`` (format -> path),
    streaming; the number of frames drawn."""
    from tqdm import tqdm
    renderer = make_renderer(video, args, animation=True)
    types = video.index.pict_types
    writers = [AnimationWriter(path, fps=video.fps or 25.0, fmt=fmt)
               for fmt, path in outputs.items()]
    try:
        with tqdm(total=len(frames), desc='drawing', unit='frame') as bar:
            for start in range(0, len(frames), ANIMATION_CHUNK):
                chunk = frames[start:start + ANIMATION_CHUNK]
                out = video.decode(rgb=chunk, motion=chunk,
                                   raw_motion=args.raw)
                for i, frame in enumerate(chunk.tolist()):
                    picture = renderer.render(out.rgb[i], out.motion[i],
                                              out.mask[i], types[frame],
                                              frame)
                    for writer in writers:
                        writer.write(picture.image)
                bar.update(len(chunk))
    finally:
        for writer in writers:
            writer.close()
    return len(frames)


def run(args: argparse.Namespace, video: CompressedVideo) -> int:
    """Everything after opening the video; the exit status."""
    total = video.num_frames
    if args.frame is not None and not 0 <= args.frame < total:
        print(f'error: --frame {args.frame} is outside [0, {total}) of '
              f'{args.video}', file=sys.stderr)
        return 2
    if (args.gif or args.mp4) and args.start >= total:
        print(f'error: --start {args.start} is outside [0, {total}) of '
              f'{args.video}', file=sys.stderr)
        return 2
    strength = None
    if args.out or (args.png and args.frame is None):
        strength, motion, mask = scan_motion(video, args.raw, bool(args.out))
        if args.out:
            write_npz(args.out, video, motion, mask)
            print(f'{args.out}: {len(motion)} frames, motion '
                  f'{motion.shape[1:]}, {int(mask.any(axis=(1, 2)).sum())} '
                  'with vectors')
    if args.png:
        from PIL import Image
        frame = (args.frame if args.frame is not None
                 else int(np.argmax(strength)))
        out = video.decode(rgb=[frame], motion=[frame], raw_motion=args.raw)
        picture = make_renderer(video, args).render(
            out.rgb[0], out.motion[0], out.mask[0],
            video.index.pict_types[frame], frame)
        Image.fromarray(picture.image).save(args.png)
        scale = (format_scale(picture.full_scale) if picture.full_scale
                 else 'none')
        print(f'{args.png}: frame {frame} ({picture.pict_type}-frame), full '
              f'colour = {scale}' + (f'; {picture.note}' if picture.note
                                     else ''))
    outputs = {fmt: path for fmt, path in (('gif', args.gif),
                                           ('mp4', args.mp4)) if path}
    if outputs:
        stop = total if args.frames == 0 else min(total,
                                                  args.start + args.frames)
        count = write_animation(video, outputs, np.arange(args.start, stop),
                                args)
        for path in outputs.values():
            print(f'{path}: {count} frames from frame {args.start}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        with CompressedVideo(args.video, threads=args.threads) as video:
            return run(args, video)
    except CodecError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
