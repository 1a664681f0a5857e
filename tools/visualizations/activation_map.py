"""Label-free activation maps of a clip backbone over videos (as DSM shows).

Where does a (self-supervised) backbone look? For each video, one clip of
the config's test_pipeline goes through the backbone; the channel sum of
its last feature map (C, T', H', W') -> (T', H', W') is upsampled
trilinearly to the clip's frames, min-max normalised over the clip and
blended 50/50 as a JET heat map (red = strong) over the frames. No label
and no classifier are involved.

    python tools/visualizations/activation_map.py \\
        configs/embedding/embedding_r3d-26_112px.py VIDEO.mp4 \\
        --checkpoint CKPT --out-dir work_dirs/activation
    python tools/visualizations/activation_map.py CONFIG data/videos \\
        --checkpoint CKPT --out-dir OUT --format mp4

Inputs: video files, folders (searched recursively) and annotation / list
files (``path [label]`` lines; a relative path is joined to --data-prefix,
else to the list file's own folder, never to the working directory: the
convention of every tool reading lists). The config needs a ``model``
with a backbone (an embedding, retrieval, finetune or pretraining config:
only its backbone is used) and a ``test_pipeline``; --pipeline takes the
pipeline from another config.

Per video, in --out-dir: ``NNN_NAME_activation.png``, a strip of evenly
spread frames (top row) above their heat maps (bottom row), and
``NNN_NAME_activation.gif`` (or .mp4): frame | heat map side by side. Both
carry a title (video, clip), row / panel labels, the clip frame number of
every frame and a colour bar; the frames are upscaled (whole factor,
nearest neighbour) so a strip is at least 1000 px wide and an animation's
panels at least 256 px high.

Exit status: 0 when at least one video was drawn, 1 when none could be
(each unreadable video is reported on stderr with its file and reason), 2
for bad arguments.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from tqdm import tqdm

from mmcmd.apis import VideoPipelineDataset, init_embedder
from mmcmd.utils.config_options import CFG_OPTIONS_HELP, merge_cfg_options
from mmcmd.utils.video_check import expand_inputs
from mmcmd.visualization.activation import (
    activation_map,
    blend_heatmap,
    clip_frames,
    write_pictures,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config with a model (its backbone '
                        'is drawn) and a test_pipeline')
    parser.add_argument('videos', nargs='+', help='video files, folders '
                        'or annotation/list files')
    parser.add_argument('--checkpoint', help='backbone weights (mmengine '
                        '.pth with backbone.* keys, bare backbone state '
                        'dict, official CMD); unset: random weights')
    parser.add_argument('--out-dir', required=True,
                        help='folder of the pictures')
    parser.add_argument('--pipeline', help='take test_pipeline from this '
                        'config (e.g. configs/_base_/datasets/'
                        'embedding_pipeline.py)')
    parser.add_argument('--data-prefix', help='folder the relative paths of '
                        "list files are under (default: the list's own "
                        'folder)')
    parser.add_argument('--clip', type=int, default=None,
                        help='which clip of the test pipeline to draw '
                        '(default: the middle one)')
    parser.add_argument('--format', choices=['gif', 'mp4'], default='gif',
                        help='animation format (default: gif)')
    parser.add_argument('--fps', type=float, default=8.0,
                        help='animation frames per second (default: 8)')
    parser.add_argument('--alpha', type=float, default=0.5,
                        help='share of the heat map in the blend '
                        '(default: 0.5)')
    parser.add_argument('--strip-frames', type=int, default=8,
                        help='frames shown in the PNG strip (default: 8)')
    parser.add_argument('--per-frame', action='store_true',
                        help='normalise each frame on its own instead of '
                        'the whole clip')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=CFG_OPTIONS_HELP)
    return parser.parse_args(argv)


def load_config(args: argparse.Namespace) -> Config:
    """The config with --pipeline and --cfg-options applied."""
    cfg = Config.fromfile(args.config)
    if args.pipeline:
        cfg.test_pipeline = Config.fromfile(args.pipeline).test_pipeline
    merge_cfg_options(cfg, args.cfg_options)
    return cfg


def output_stem(out_dir: str, index: int, path: str, suffix: str) -> str:
    """``OUT/NNN_NAME_SUFFIX`` (the index keeps equal names apart)."""
    name = osp.splitext(osp.basename(path))[0]
    return osp.join(out_dir, f'{index:03d}_{name}_{suffix}')


def pick_clip(count: int, wanted: Optional[int], path: str) -> int:
    """The clip index to draw of ``count`` clips."""
    index = count // 2 if wanted is None else wanted
    if not -count <= index < count:
        raise IndexError(f'{path}: --clip {wanted} but the test pipeline '
                         f'gives {count} clips')
    return index % count


def draw_video(model: torch.nn.Module, sample: dict, path: str, index: int,
               args: argparse.Namespace) -> List[str]:
    """Activation map of one pipeline output; the files written."""
    data = model.data_preprocessor(pseudo_collate([sample]), False)
    clips = data['inputs'][0]
    if clips.dim() == 4:  # a pipeline without a clip axis
        clips, raw = clips[None], sample['inputs'][None]
    else:
        raw = sample['inputs']
    k = pick_clip(clips.shape[0], args.clip, path)
    heat = activation_map(model.backbone, clips[k],
                          per_frame=args.per_frame)
    frames = clip_frames(raw[k])
    overlay = blend_heatmap(frames, heat, alpha=args.alpha)
    stem = output_stem(args.out_dir, index, path, 'activation')
    scope = 'each frame' if args.per_frame else 'the clip'
    title = (f'Activation map: {osp.basename(path)}, clip {k + 1} of '
             f'{clips.shape[0]}')
    return write_pictures(
        stem, [frames, overlay], fmt=args.format, fps=args.fps,
        count=args.strip_frames, title=title,
        labels=['frames', 'activation map (channel sum)'],
        colorbar_label=f'activation, min-max over {scope} '
        f'({round(100 * args.alpha)} % over the frame)',
        number_label='clip frame')


def main(argv: Optional[List[str]] = None) -> int:
    """Draw every video; the exit status."""
    args = parse_args(argv)
    paths, _ = expand_inputs(args.videos, args.data_prefix)
    if not paths:
        print(f'error: no video found in {args.videos}', file=sys.stderr)
        return 2
    model = init_embedder(load_config(args), args.checkpoint, args.device)
    dataset = VideoPipelineDataset(paths, model.cfg)
    os.makedirs(args.out_dir, exist_ok=True)
    drawn, failed = 0, 0
    for i in tqdm(range(len(dataset)), desc='activation maps', unit='video',
                  file=sys.stderr, disable=len(dataset) < 2):
        item = dataset[i]
        try:
            if item['error'] is not None:
                raise RuntimeError(item['error'])
            files = draw_video(model, item['sample'], item['path'], i, args)
        except Exception as exc:  # one bad video never stops the others
            failed += 1
            print(f'error: {item["path"]}: {exc}', file=sys.stderr)
            continue
        drawn += 1
        print('\n'.join(files))
    print(f'{drawn} of {len(paths)} videos drawn into {args.out_dir}'
          + (f', {failed} failed' if failed else ''), file=sys.stderr)
    return 0 if drawn else 1


if __name__ == '__main__':
    sys.exit(main())
