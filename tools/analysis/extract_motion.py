"""Extract the motion-vector field of a video to .npz, optionally drawn.

The .npz holds ``motion`` float32 (N, 2, ceil(H/4), ceil(W/4)) in px per
frame (x, y; forward in time; see docs/codec.md), ``mask`` bool
(N, ceil(H/4), ceil(W/4)), ``pict_types`` ('I'/'P'/'B' per frame),
``keyframes`` (display indices), ``fps`` and ``size`` (width, height).

The picture shows each frame next to its colour-coded motion: hue =
direction, saturation = speed (white = still, full colour at --max-motion
px/frame), black = no vector.

Examples:
    python tools/analysis/extract_motion.py video.mp4 -o motion.npz
    python tools/analysis/extract_motion.py video.mp4 -o m.npz --gif m.gif

Exit status: 0 on success, 1 when the video cannot be read, 2 for bad
arguments.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import List, Optional

import numpy as np

try:
    import mmcmd  # noqa: F401
except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))

from mmcmd.codec import CodecError, CompressedVideo  # noqa: E402

#: frames decoded per call, so long videos stream through memory.
CHUNK_FRAMES = 256


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('video', help='input video (H.264, MPEG-4, MPEG-2)')
    parser.add_argument('-o', '--out', required=True, help='output .npz')
    parser.add_argument('--raw', action='store_true', help='raw vectors: no '
                        'division by the distance to the reference frame')
    picture = parser.add_mutually_exclusive_group()
    picture.add_argument('--png', help='draw one frame and its motion here')
    picture.add_argument('--gif', help='draw every frame and its motion here')
    parser.add_argument('--frame', type=int, help='frame for --png '
                        '(default: the first P-frame after the middle)')
    parser.add_argument('--max-motion', type=float, help='speed drawn at '
                        'full colour, px/frame (default: 99th percentile)')
    parser.add_argument('--threads', type=int, default=1,
                        help='decoder threads (0 = automatic)')
    return parser.parse_args(argv)


def flow_to_rgb(field: np.ndarray, mask: np.ndarray, max_motion: float
                ) -> np.ndarray:
    """Colour-code a field (2, h, w) as RGB uint8 (h, w, 3) via HSV."""
    import cv2
    x, y = field[0], field[1]
    hue = (np.degrees(np.arctan2(y, x)) % 360) / 2  # OpenCV hue 0..179
    speed = np.clip(np.hypot(x, y) / max(max_motion, 1e-6), 0, 1)
    hsv = np.stack([hue, speed * 255, np.full_like(hue, 255)], axis=-1)
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    rgb[~mask] = 0
    return rgb


def side_by_side(frame: np.ndarray, field: np.ndarray, mask: np.ndarray,
                 max_motion: float) -> np.ndarray:
    """The RGB frame and its motion (cells enlarged to pixels) side by side."""
    height, width = frame.shape[:2]
    flow = flow_to_rgb(field, mask, max_motion)
    flow = flow.repeat(4, axis=0).repeat(4, axis=1)[:height, :width]
    return np.concatenate([frame, flow], axis=1)


def extract(video: CompressedVideo, raw: bool, keep_rgb: bool):
    """Motion, mask and (optionally) RGB of every frame, in chunks."""
    from tqdm import tqdm
    motion, mask, rgb = [], [], []
    frames = np.arange(video.num_frames)
    with tqdm(total=len(frames), desc='decoding', unit='frame') as bar:
        for start in range(0, len(frames), CHUNK_FRAMES):
            chunk = frames[start:start + CHUNK_FRAMES]
            out = video.decode(motion=chunk, rgb=chunk if keep_rgb else (),
                               raw_motion=raw)
            motion.append(out.motion)
            mask.append(out.mask)
            rgb.append(out.rgb)
            bar.update(len(chunk))
    return (np.concatenate(motion), np.concatenate(mask),
            np.concatenate(rgb) if keep_rgb else None)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from PIL import Image
    try:
        with CompressedVideo(args.video, threads=args.threads) as video:
            motion, mask, rgb = extract(video, args.raw,
                                        bool(args.png or args.gif))
            index = video.index
            np.savez_compressed(
                args.out, motion=motion, mask=mask,
                pict_types=index.pict_types, keyframes=index.keyframes,
                fps=np.float64(video.fps),
                size=np.array([video.width, video.height]))
    except CodecError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'{args.out}: {len(motion)} frames, motion {motion.shape[1:]}, '
          f"{int((index.pict_types != 'I').sum())} with vectors")
    if rgb is None:
        return 0
    speeds = np.hypot(motion[:, 0], motion[:, 1])[mask]
    max_motion = args.max_motion or (float(np.percentile(speeds, 99))
                                     if speeds.size else 1.0)
    if args.png:
        frame = args.frame
        if frame is None:
            moving = np.flatnonzero(index.pict_types == 'P')
            later = moving[moving >= len(motion) // 2]
            frame = int(later[0] if later.size else len(motion) // 2)
        if not 0 <= frame < len(motion):
            print(f'error: --frame {frame} is outside [0, {len(motion)})',
                  file=sys.stderr)
            return 2
        Image.fromarray(side_by_side(rgb[frame], motion[frame], mask[frame],
                                     max_motion)).save(args.png)
        print(f'{args.png}: frame {frame} ({index.pict_types[frame]})')
    else:
        pictures = [Image.fromarray(side_by_side(rgb[i], motion[i], mask[i],
                                                 max_motion))
                    for i in range(len(motion))]
        pictures[0].save(args.gif, save_all=True, append_images=pictures[1:],
                         duration=int(1000 / (video.fps or 25)), loop=0)
        print(f'{args.gif}: {len(pictures)} frames')
    return 0


if __name__ == '__main__':
    sys.exit(main())
