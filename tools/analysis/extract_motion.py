"""Extract the motion-vector field of a video to .npz, and draw it.

The .npz (-o) holds ``motion`` float32 (N, 2, ceil(H/4), ceil(W/4)) in px
per frame (x, y; forward in time; see docs/codec.md), ``mask`` bool
(N, ceil(H/4), ceil(W/4)), ``pict_types`` ('I'/'P'/'B' per frame),
``keyframes`` (display indices), ``fps``, ``size`` (width, height),
``verdict`` (exact / approximate / none), ``verdict_reason`` and
``approximate`` (bool per frame: its motion is flagged approximate).

The pictures (--png, --gif, --mp4) show each frame next to its motion:
hue = direction (the colour wheel beside it), saturation = speed (white =
still, full colour at the printed px/frame), black = no vector. Each frame
is scaled to its own motion unless --max-motion fixes the scale. I-frames
and other frames without vectors say so on the motion panel.

Every run first prints the stream's motion verdict (mmcmd.codec's
motion_verdict, as tools/analysis/check_videos.py): ``exact``,
``approximate: <reason>`` (several reference frames, a B-pyramid, ...:
some vectors are divided by the wrong frame distance, so their speed is
off) or ``none: <reason>``. In an approximate stream the frames of the
affected types (P and/or B) are flagged: their motion panel's title says
``motion: approximate (B-pyramid)`` (or ``multi-ref``, ...) in red, and the
.npz says which frames (``approximate``). Without --frame, --png shows the
frame with the strongest motion among the frames that are NOT flagged
(all frames when every frame is), ranked by a robust strength: the median
speed of the moving cells times the share of cells that move, so a few
wild or mis-scaled vectors cannot win.

Output files must end in their format's extension (-o .npz, --png .png,
--gif .gif, --mp4 .mp4): anything else is refused before any work, as is
an output path that is a folder. A missing output folder is created before
the work (one line on stderr says so); one that cannot be created is
refused. The paths printed are the files written.

Examples:
    python tools/analysis/extract_motion.py video.mp4 --png motion.png
    python tools/analysis/extract_motion.py video.mp4 -o motion.npz
    python tools/analysis/extract_motion.py video.mp4 --gif m.gif \\
        --start 100 --frames 48 --scale 0.5

Exit status: 0 on success, 1 when the video cannot be read, 2 for bad
arguments (wrong extensions, folders that cannot be made, frames outside
the video).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmcmd.codec import CodecError, CompressedVideo, MotionVerdict
from mmcmd.codec import motion_verdict as read_verdict
from mmcmd.visualization import (
    AnimationWriter,
    MotionPictureRenderer,
    choose_strongest,
    default_scale,
    format_scale,
    robust_strength,
)

#: frames per motion-only decode call, so long videos stream through memory.
CHUNK_FRAMES = 256
#: frames per RGB + motion decode call of an animation.
ANIMATION_CHUNK = 16
#: default range of a panel's long side, px: one picture, animations.
PICTURE_SIZE = (320, 640)
ANIMATION_SIZE = (240, 400)
#: output option (argparse dest) -> the extension its file must have.
EXTENSIONS = {'out': '.npz', 'png': '.png', 'gif': '.gif', 'mp4': '.mp4'}
#: pieces of a verdict's reason -> (picture types affected, short flag).
REASON_FLAGS = (
    ('interlaced', 'PB', 'interlaced'),
    ('may point past', 'PB', 'multi-ref'),
    ('P-frames predict', 'P', 'multi-ref'),
    ('B-pyramid', 'B', 'B-pyramid'),
    ('B-frames predict', 'B', 'multi-ref'),
    ('carry no motion vectors', 'B', 'B vectors missing'),
)


@dataclass
class Result:
    """What a run did: exit status, the verdict, the files written."""

    status: int
    verdict: Optional[MotionVerdict] = None
    #: pict type -> short flag, for the flagged (approximate) types.
    flags: Dict[str, str] = field(default_factory=dict)
    #: output option ('out', 'png', 'gif', 'mp4') -> the file written.
    written: Dict[str, str] = field(default_factory=dict)
    #: the frame --png drew.
    frame: Optional[int] = None


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags (exit 2 on bad values)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('video', help='input video (H.264, MPEG-4, MPEG-2)')
    parser.add_argument('-o', '--out', help='output .npz of the whole video '
                        '(default: none)')
    parser.add_argument('--raw', action='store_true', help='raw vectors: no '
                        'division by the distance to the reference frame')
    parser.add_argument('--png', help='draw one frame and its motion here, '
                        '.png (default: none)')
    parser.add_argument('--frame', type=int, help='frame for --png (default: '
                        'the frame with the strongest motion, exact\n'
                        'frames first)')
    parser.add_argument('--gif', help='animation of frames and motion, '
                        '.gif (default: none)')
    parser.add_argument('--mp4', help='animation of frames and motion, '
                        'H.264 .mp4 (default: none)')
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


def output_problem(args: argparse.Namespace) -> Optional[str]:
    """Why the output paths cannot be written as given (a wrong extension,
    a path that is a folder), else None. Touches nothing."""
    for name, extension in EXTENSIONS.items():
        path = getattr(args, name)
        if not path:
            continue
        flag = '-o' if name == 'out' else f'--{name}'
        if not path.lower().endswith(extension):
            return (f'{flag} {path}: the file must end in {extension} '
                    f'(the {extension[1:].upper()} file it writes)')
        if osp.isdir(path):
            return f'{flag} {path}: is a folder, give a file name'
    return None


def make_folders(args: argparse.Namespace) -> Optional[str]:
    """Create the missing folders of the outputs (one stderr line each);
    why one cannot be made, else None."""
    for name in EXTENSIONS:
        path = getattr(args, name)
        folder = osp.dirname(osp.abspath(path)) if path else None
        if not folder or osp.isdir(folder):
            continue
        try:
            os.makedirs(folder)
        except OSError as error:
            return (f'cannot create the folder of {path}: '
                    f'{error.strerror or error}')
        print(f'created folder {folder}', file=sys.stderr)
    return None


def approximate_flags(verdict: Optional[MotionVerdict]) -> Dict[str, str]:
    """Picture types whose motion ``verdict`` makes approximate -> a short
    flag for the picture ('B-pyramid', 'multi-ref', ...); empty for an
    exact stream, one without vectors or no verdict."""
    if verdict is None or verdict.kind != 'approximate':
        return {}
    flags: Dict[str, List[str]] = {}
    for part in verdict.reason.split('; '):
        found = [(types, short) for key, types, short in REASON_FLAGS
                 if key in part] or [('PB', part)]
        for types, short in found:
            for kind in types:
                if short not in flags.setdefault(kind, []):
                    flags[kind].append(short)
    return {kind: ' / '.join(shorts) for kind, shorts in flags.items()}


def scan_motion(video: CompressedVideo, raw: bool, keep: bool
                ) -> Tuple[np.ndarray, Optional[np.ndarray],
                           Optional[np.ndarray]]:
    """Robust motion strength per frame (:func:`robust_strength`), and the
    fields and masks if ``keep``.

    Decodes motion only, :data:`CHUNK_FRAMES` frames at a time.
    """
    from tqdm import tqdm
    strength, motion, mask = [], [], []
    total = video.num_frames
    with tqdm(total=total, desc='motion', unit='frame') as bar:
        for start in range(0, total, CHUNK_FRAMES):
            chunk = np.arange(start, min(start + CHUNK_FRAMES, total))
            fields, masks = video.read_motion(chunk, raw=raw)
            strength.append(robust_strength(fields, masks))
            if keep:
                motion.append(fields)
                mask.append(masks)
            bar.update(len(chunk))
    return (np.concatenate(strength),
            np.concatenate(motion) if keep else None,
            np.concatenate(mask) if keep else None)


def write_npz(path: str, video: CompressedVideo, motion: np.ndarray,
              mask: np.ndarray, verdict: Optional[MotionVerdict],
              flagged: np.ndarray) -> None:
    """The .npz of the module docstring."""
    index = video.index
    np.savez_compressed(
        path, motion=motion, mask=mask, pict_types=index.pict_types,
        keyframes=index.keyframes, fps=np.float64(video.fps),
        size=np.array([video.width, video.height]),
        verdict=np.str_(verdict.kind if verdict else 'unknown'),
        verdict_reason=np.str_(verdict.reason if verdict else
                               'the check failed'),
        approximate=flagged)


def make_renderer(video: CompressedVideo, args: argparse.Namespace,
                  animation: bool = False) -> MotionPictureRenderer:
    """The picture renderer for this video and the size/scale options."""
    scale = args.scale or default_scale(
        video.width, video.height, *(ANIMATION_SIZE if animation else
                                     PICTURE_SIZE))
    return MotionPictureRenderer(video.width, video.height, scale,
                                 args.max_motion)


def write_animation(video: CompressedVideo, outputs: Dict[str, str],
                    frames: np.ndarray, args: argparse.Namespace,
                    flags: Dict[str, str]) -> int:
    """Draw ``frames`` into each file of ``outputs`` (format -> path),
    streaming, flagging the frames of the types in ``flags``; the number
    of frames drawn."""
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
                    picture = renderer.render(
                        out.rgb[i], out.motion[i], out.mask[i],
                        types[frame], frame, flags.get(types[frame]))
                    for writer in writers:
                        writer.write(picture.image)
                bar.update(len(chunk))
    finally:
        for writer in writers:
            writer.close()
    return len(frames)


def stream_verdict(video: CompressedVideo) -> Optional[MotionVerdict]:
    """The video's motion verdict; None when the check itself fails."""
    try:
        return read_verdict(video)
    except Exception:  # the check never stops the extraction
        return None


def run(args: argparse.Namespace, video: CompressedVideo) -> Result:
    """Everything after opening the video (outputs already checked)."""
    total = video.num_frames
    if args.frame is not None and not 0 <= args.frame < total:
        print(f'error: --frame {args.frame} is outside [0, {total}) of '
              f'{args.video}', file=sys.stderr)
        return Result(2)
    if (args.gif or args.mp4) and args.start >= total:
        print(f'error: --start {args.start} is outside [0, {total}) of '
              f'{args.video}', file=sys.stderr)
        return Result(2)
    problem = make_folders(args)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return Result(2)
    verdict = stream_verdict(video)
    flags = approximate_flags(verdict)
    types = video.index.pict_types
    flagged = np.isin(types, sorted(flags))
    result = Result(0, verdict, flags)
    print(f'{args.video}: motion '
          + (str(verdict) if verdict else 'unknown (the check failed)')
          + (f'; flagged approximate: {int(flagged.sum())} of {total} '
             f'frames ({", ".join(sorted(flags))}-frames)' if flags
             else ''))
    strength = None
    if args.out or (args.png and args.frame is None):
        strength, motion, mask = scan_motion(video, args.raw, bool(args.out))
        if args.out:
            write_npz(args.out, video, motion, mask, verdict, flagged)
            result.written['out'] = args.out
            print(f'{args.out}: {len(motion)} frames, motion '
                  f'{motion.shape[1:]}, {int(mask.any(axis=(1, 2)).sum())} '
                  'with vectors')
    if args.png:
        from PIL import Image
        frame = (args.frame if args.frame is not None
                 else choose_strongest(strength, ~flagged))
        out = video.decode(rgb=[frame], motion=[frame], raw_motion=args.raw)
        flag = flags.get(types[frame])
        picture = make_renderer(video, args).render(
            out.rgb[0], out.motion[0], out.mask[0], types[frame], frame,
            flag)
        Image.fromarray(picture.image).save(args.png, format='PNG')
        result.written['png'], result.frame = args.png, frame
        scale = (format_scale(picture.full_scale) if picture.full_scale
                 else 'none')
        print(f'{args.png}: frame {frame} ({picture.pict_type}-frame), full '
              f'colour = {scale}'
              + (f'; motion approximate ({flag})' if flag else '')
              + (f'; {picture.note}' if picture.note else ''))
    outputs = {fmt: path for fmt, path in (('gif', args.gif),
                                           ('mp4', args.mp4)) if path}
    if outputs:
        stop = total if args.frames == 0 else min(total,
                                                  args.start + args.frames)
        count = write_animation(video, outputs, np.arange(args.start, stop),
                                args, flags)
        for fmt, path in outputs.items():
            result.written[fmt] = path
            print(f'{path}: {count} frames from frame {args.start}')
    return result


def main(argv: Optional[List[str]] = None) -> int:
    """Check the outputs, open the video, extract; the exit status."""
    args = parse_args(argv)
    problem = output_problem(args)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    try:
        with CompressedVideo(args.video, threads=args.threads) as video:
            return run(args, video).status
    except CodecError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
