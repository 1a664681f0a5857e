"""Draw the documentation's figures from freshly generated videos.

Every picture comes from a video this script writes (the synthetic
benchmark's renderer, real H.264 bytes read back with mmcmd.codec), so the
figures show what the code does today:

- ``motion_picture.png``: a frame and its colour-coded motion with the
  wheel (README, docs/codec.md);
- ``frame_order.png``: I/P/B frames in display vs decode order and the sign
  of motion vectors (docs/codec.md);
- ``synthetic_samples.png``: classes of the synthetic benchmark on their own
  and on a swapped scene (docs/synthetic.md);
- ``cmd_tasks.png``: CMD's two pretext tasks (docs/models.md).

Examples:
    python tools/visualizations/make_doc_images.py            # docs/images
    python tools/visualizations/make_doc_images.py --out-dir /tmp/img \\
        --size 96x72 --frames 16

Exit status: 0 on success, 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import av
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from mmcmd.codec import CompressedVideo
from mmcmd.datasets import synthetic
from mmcmd.visualization import (
    flow_to_rgb,
    frame_full_scale,
    render_motion_picture,
    strongest_frame,
)

FIGURES = ('motion_picture', 'frame_order', 'synthetic_samples', 'cmd_tasks')
#: the video behind the motion picture and the CMD diagram: an object moving
#: down and right over a still scene.
DEMO_CLASS = synthetic.CLASSES.index('move_down_right')
DEMO_SCENE = synthetic.SCENES.index('violet_blobs')
#: classes shown on the benchmark sample sheet.
SAMPLE_CLASSES = ('move_right', 'move_up', 'circle_clockwise',
                  'oscillate_vertical')
#: size above which a picture is stored in 256 colours, bytes.
MAX_BYTES = 120_000
_BOX = dict(boxstyle='round,pad=0.4', facecolor='#eef2f7', edgecolor='#50607a')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--out-dir', default='docs/images',
                        help='where the PNGs go (default: docs/images)')
    parser.add_argument('--size', default='160x120', help='WxH of the '
                        'generated videos, px (default: 160x120)')
    parser.add_argument('--frames', type=int, default=32,
                        help='frames of the generated videos (default: 32)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed of the videos (default: 0)')
    parser.add_argument('--only', nargs='+', choices=FIGURES,
                        help='draw only these figures (default: all)')
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split('x'))
    except ValueError:
        parser.error(f'--size must look like 160x120, got {args.size!r}')
    if width < 64 or height < 64 or args.frames < 16:
        parser.error('--size must be at least 64x64 and --frames at least 16')
    args.size = (width, height)
    return args


def save(figure: Figure, path: str) -> str:
    """Write a figure as a 256-colour PNG at 100 px per inch; the path."""
    canvas = FigureCanvasAgg(figure)
    figure.set_dpi(100)
    canvas.draw()
    save_png(np.asarray(canvas.buffer_rgba())[..., :3], path)
    return path


def save_png(image: np.ndarray, path: str) -> None:
    """RGB uint8 as PNG; in 256 colours if the full colours pass
    :data:`MAX_BYTES` (textured pictures)."""
    picture = Image.fromarray(image)
    picture.save(path, optimize=True)
    if os.path.getsize(path) > MAX_BYTES:
        picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                         dither=Image.Dither.NONE).save(path, optimize=True)


def write_demo_video(path: str, size: Tuple[int, int], frames: int,
                     seed: int) -> synthetic.VideoParams:
    """The object-over-a-still-scene H.264 video; its parameters.

    The object crosses the frame centre half-way, so it is in full view
    for most of the video.
    """
    rng = np.random.default_rng(seed)
    params = synthetic.sample_params(DEMO_CLASS, DEMO_SCENE, rng, size,
                                     frames)
    dx, dy = synthetic.TRANSLATIONS[DEMO_CLASS]
    travel = params.speed * (frames - 1) / 2
    params = dataclasses.replace(params,
                                 centre_x=size[0] / 2 - dx * travel,
                                 centre_y=size[1] / 2 - dy * travel)
    synthetic.write_video(path, synthetic.render_frames(params))
    return params


# ---------------------------------------------------------------- figures
def motion_picture(video_path: str, out: str) -> Dict:
    """The strongest frame of the video next to its motion and wheel."""
    with CompressedVideo(video_path) as video:
        motion, mask = video.read_motion(range(video.num_frames))
        frame = strongest_frame(motion, mask)
        rgb = video.read_rgb([frame])[0]
        kind = video.index.pict_types[frame]
    picture = render_motion_picture(rgb, motion[frame], mask[frame], kind,
                                    frame, scale=2.0)
    save_png(picture.image, out)
    return dict(path=out, frame=frame, full_scale=picture.full_scale)


def _frame_box(ax, x: float, y: float, label: str, kind: str) -> None:
    """One frame as a coloured box with its label."""
    colours = {'I': '#f4a6a6', 'P': '#a8c8f0', 'B': '#b9e3b0'}
    ax.add_patch(Rectangle((x - 0.4, y - 0.4), 0.8, 0.8,
                           facecolor=colours.get(kind, '#dddddd'),
                           edgecolor='#333333', linewidth=0.8))
    ax.text(x, y, label, ha='center', va='center', fontsize=9)


def stream_order(video_path: str, count: int) -> Tuple[List[str], List[int]]:
    """Picture types in display order and the display index of each packet
    in decode order, for the first ``count`` frames of the stream."""
    with CompressedVideo(video_path) as video:
        kinds = video.index.pict_types[:count].tolist()
        pts = video.index.pts.tolist()
    display = {p: i for i, p in enumerate(pts)}
    with av.open(video_path) as container:
        order = [display[packet.pts]
                 for packet in container.demux(video=0)
                 if packet.size and packet.pts in display]
    return kinds, [i for i in order if i < count][:count]


def frame_order(video_path: str, out: str, count: int = 10) -> Dict:
    """Display vs decode order of the stream, and the sign convention."""
    kinds, decode = stream_order(video_path, count)
    figure = Figure(figsize=(8.6, 4.4))
    top = figure.add_axes((0.01, 0.5, 0.98, 0.48))
    top.set_xlim(-2.2, count)
    top.set_ylim(-0.7, 2.1)
    top.axis('off')
    top.text(-2.1, 1.5, 'display order', va='center', fontsize=9)
    top.text(-2.1, 0.0, 'decode order\n(file order)', va='center',
             fontsize=9)
    for i, kind in enumerate(kinds):
        _frame_box(top, i, 1.5, f'{kind}{i}', kind)
    for slot, i in enumerate(decode):
        _frame_box(top, slot, 0.0, f'{kinds[i]}{i}', kinds[i])
        top.plot([i, slot], [1.1, 0.4], color='#888888', linewidth=0.7)
    top.text(count - 0.5, 2.05, 'B-frames are decoded after the next I/P '
             'frame they refer to', ha='right', va='top', fontsize=8,
             color='#444444')
    bottom = figure.add_axes((0.01, 0.01, 0.98, 0.47))
    _sign_panel(bottom)
    save(figure, out)
    return dict(path=out, display=''.join(kinds), decode=decode)


def _sign_panel(ax) -> None:
    """A block moving 2 px right, seen from a past and a future reference."""
    ax.set_xlim(0, 30)
    ax.set_ylim(0, 10)
    ax.axis('off')
    names = ('frame t-1 (past anchor)', 'frame t', 'frame t+1 '
             '(future anchor)')
    for column, (name, x_obj) in enumerate(zip(names, (2, 4, 6))):
        left = 1 + column * 10
        ax.add_patch(Rectangle((left, 3), 8, 5, facecolor='#f7f7f7',
                               edgecolor='#333333', linewidth=0.8))
        ax.add_patch(Rectangle((left + x_obj - 0.6, 4.8), 1.2, 1.2,
                               facecolor='#e06c3c', edgecolor='black'))
        ax.text(left + 4, 8.4, name, ha='center', fontsize=8.5)
    arrow = dict(arrowstyle='->', color='#1f4e9c', linewidth=1.2)
    ax.annotate('', xy=(15, 5.2), xytext=(3, 5.2), arrowprops=arrow)
    ax.text(8, 2.6, 'P-block (past ref): src in t-1, dst in t\n'
            'motion = dst - src = +2 px', ha='center', va='top',
            fontsize=8, color='#1f4e9c')
    arrow['color'] = '#2b7a2b'
    ax.annotate('', xy=(15, 5.6), xytext=(27, 5.6), arrowprops=arrow)
    ax.text(23, 2.6, 'B-block (future ref): src in t+1, dst in t\n'
            'motion = src - dst = +2 px', ha='center', va='top',
            fontsize=8, color='#2b7a2b')
    ax.text(15, 0.4, 'both give the forward motion of the content, per '
            'frame of time', ha='center', fontsize=8.5)


def synthetic_samples(out: str, size: Tuple[int, int], frames: int,
                      seed: int) -> Dict:
    """First frames of a few classes on their own and on another scene."""
    rng = np.random.default_rng(seed)
    classes = [synthetic.CLASSES.index(name) for name in SAMPLE_CLASSES]
    figure = Figure(figsize=(1.9 * len(classes) + 0.9, 4.3))
    rows = (('own scene\n(85% of train)', lambda c: c),
            ('another scene\n(test_swapped)',
             lambda c: (c + 3) % len(synthetic.SCENES)))
    shown = []
    for row, (title, scene_of) in enumerate(rows):
        figure.text(0.01, 0.7 - 0.45 * row, title, fontsize=8.5,
                    va='center')
        for column, class_id in enumerate(classes):
            params = synthetic.sample_params(class_id, scene_of(class_id),
                                             rng, size, frames)
            first = synthetic.render_frames(params)[0]
            ax = figure.add_axes((0.12 + column * 0.88 / len(classes),
                                  0.5 - 0.46 * row, 0.86 / len(classes),
                                  0.4))
            ax.imshow(first, interpolation='nearest')
            path = synthetic.object_path(params, np.arange(min(frames, 12)))
            if class_id in synthetic.TRANSLATIONS:
                path = path[:8]
            ax.annotate('', xy=path[-1], xytext=path[0], arrowprops=dict(
                arrowstyle='->', color='white', linewidth=2.2))
            ax.plot(*path.T, color='white', linewidth=2.2, alpha=0.8)
            ax.set_xlim(-0.5, size[0] - 0.5)
            ax.set_ylim(size[1] - 0.5, -0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(synthetic.CLASSES[class_id], fontsize=8.5)
            ax.set_xlabel(synthetic.SCENES[params.scene_id], fontsize=7.5)
            shown.append((class_id, params.scene_id))
    save(figure, out)
    return dict(path=out, shown=shown)


def _thumbnail(ax, image: np.ndarray, x: float, y: float,
               width: float) -> None:
    """``image`` drawn ``width`` data units wide at (x, y) (bottom left)."""
    height = width * image.shape[0] / image.shape[1]
    ax.imshow(image, extent=(x, x + width, y, y + height),
              interpolation='nearest', zorder=2)
    ax.add_patch(Rectangle((x, y), width, height, fill=False, zorder=2.5,
                           edgecolor='#555555', linewidth=0.8))


def _box(ax, x: float, y: float, text: str) -> None:
    ax.text(x, y, text, ha='center', va='center', fontsize=8.5, bbox=_BOX,
            zorder=3)


def _arrow(ax, start: Sequence[float], end: Sequence[float]) -> None:
    ax.annotate('', xy=end, xytext=start, arrowprops=dict(
        arrowstyle='->', color='#333333', linewidth=1.1), zorder=1)


def cmd_tasks(video_path: str, out: str) -> Dict:
    """CMD's pretext tasks drawn with the demo video's own pictures."""
    with CompressedVideo(video_path) as video:
        count = video.num_frames
        motion, mask = video.read_motion(range(count))
        best = min(max(strongest_frame(motion, mask), 6), count - 5)
        clip = list(range(best - 6, best + 1, 2))
        future = list(range(best + 1, best + 5))
        spans = video.decode(rgb=clip, keyframes=[clip[0]])
    present = mask[future].any(axis=0)
    mean = motion[future].sum(axis=0) / np.maximum(mask[future].sum(0), 1)
    colours = flow_to_rgb(mean, present,
                          frame_full_scale(mean, present) or 1.0)
    figure = Figure(figsize=(9.0, 3.9))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 90)
    ax.set_ylim(0, 39)
    ax.axis('off')
    for n, frame in enumerate(spans.rgb[::-1]):  # back to front
        shift = (len(spans.rgb) - 1 - n) * 1.3
        _thumbnail(ax, frame, 2 + shift, 14 - shift, 9.0)
    ax.text(8.5, 9.6, f'clip (frames {clip[0]}-{clip[-1]})', ha='center',
            va='top', fontsize=8)
    _box(ax, 27, 19, 'clip encoder\n(3D CNN)')
    _arrow(ax, (16.5, 19), (21.5, 19))
    _box(ax, 42, 30, 'context\nquery')
    _box(ax, 42, 8, 'motion queries\n(one per position)')
    _arrow(ax, (30, 22), (38, 28))
    _arrow(ax, (30, 16), (36, 10))
    _box(ax, 59, 30, 'InfoNCE: which keyframe\nbelongs to the clip?')
    _box(ax, 59, 8, 'InfoNCE per position:\nwhich future motion?')
    _arrow(ax, (46.3, 30), (49.6, 30))
    _arrow(ax, (48.8, 8), (50.2, 8))
    _box(ax, 79, 22, 'keyframe\nencoder (2D)')
    _box(ax, 79, 16, 'motion\nencoder (3D)')
    _arrow(ax, (75.3, 23.5), (68.5, 28.3))
    _arrow(ax, (75.3, 14.5), (67.8, 9.7))
    _thumbnail(ax, spans.keyframes[0], 74.5, 28.2, 9.0)
    ax.text(79, 38.5, f'keyframe: I-frame {spans.keyframe_indices[0]}',
            ha='center', va='top', fontsize=8)
    _arrow(ax, (79, 28), (79, 24.4))
    _thumbnail(ax, colours.repeat(4, 0).repeat(4, 1), 74.5, 3.0, 9.0)
    ax.text(79, 0.5, f'future motion ({future[0]}-{future[-1]})',
            ha='center', va='bottom', fontsize=8)
    _arrow(ax, (79, 10.0), (79, 13.6))
    ax.text(30, 38.5, 'context: match the clip to its keyframe',
            ha='center', va='top', fontsize=9, weight='bold')
    ax.text(30, 0.5, 'motion: predict the codec motion of the near future',
            ha='center', va='bottom', fontsize=9, weight='bold')
    save(figure, out)
    return dict(path=out, clip=clip, future=future)


def make_images(out_dir: str, size: Tuple[int, int] = (160, 120),
                frames: int = 32, seed: int = 0,
                only: Optional[Sequence[str]] = None) -> Dict[str, Dict]:
    """Draw the figures into ``out_dir``; name -> what each one shows."""
    os.makedirs(out_dir, exist_ok=True)
    wanted = set(only or FIGURES)
    done: Dict[str, Dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        video = osp.join(scratch, 'demo.mp4')
        if wanted & {'motion_picture', 'frame_order', 'cmd_tasks'}:
            write_demo_video(video, size, frames, seed)
        for name in FIGURES:
            if name not in wanted:
                continue
            path = osp.join(out_dir, f'{name}.png')
            if name == 'motion_picture':
                done[name] = motion_picture(video, path)
            elif name == 'frame_order':
                done[name] = frame_order(video, path)
            elif name == 'synthetic_samples':
                side = min(size)
                done[name] = synthetic_samples(path, (side, side), frames,
                                               seed)
            else:
                done[name] = cmd_tasks(video, path)
    return done


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    done = make_images(args.out_dir, args.size, args.frames, args.seed,
                       args.only)
    for info in done.values():
        print(f'{info["path"]}: {os.path.getsize(info["path"]) // 1024} KB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
