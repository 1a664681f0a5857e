"""Temporal-reversal CAM (MLFO): does the backbone know which way time runs?

A bias-free Linear(C, 2) probe is trained on the frozen backbone's globally
pooled features to tell each clip (label 0) from its time-reversed copy
(label 1); its order accuracy on held-out videos says how much arrow-of-time
information the features hold (chance: 0.5). Then, for a few held-out
videos, the probe's weights of the TRUE class are applied to the last
feature map at every position (sum_c w_c F_c), ReLU, upsampled to the
frames, min-max normalised per frame and blended as a JET heat map: the
regions whose features tell the direction of time light up red.

    python tools/visualizations/reversal_cam.py \\
        configs/embedding/embedding_r3d-26_112px.py data/ucf101/videos \\
        --checkpoint CKPT --out-dir work_dirs/reversal_cam
    python tools/visualizations/reversal_cam.py CONFIG TRAIN_LIST.txt \\
        --val-videos VAL_LIST.txt --data-prefix data/ucf101/videos \\
        --checkpoint CKPT --out-dir OUT --epochs 50 --num-cams 8

Videos: files, folders (recursive) or annotation/list files (their labels
are not used). Without --val-videos, --val-ratio of them (shuffled with
--seed) are held out. Clips are the config's test_pipeline clips (every clip
of a video is a training sample; no augmentation), normalised by the
model's data preprocessor; the backbone runs in eval mode, frozen.

Outputs in --out-dir: ``order_accuracy.json`` (also printed as one JSON
row: name, value, unit, train/held-out accuracy, counts; every accuracy
is a fraction in [0, 1], ``unit`` says "fraction", chance is 0.5) and, per
drawn video, ``NNN_NAME_reversal_cam.png`` (rows: frames, CAM of class
"normal", reversed frames, CAM of class "reversed") and ``.gif`` /
``.mp4`` (the same four side by side). The pictures carry a title (video,
held-out order accuracy), row / panel labels, the clip frame number of
every frame (the reversed rows count down) and a colour bar; the frames
are upscaled so a strip is at least 1000 px wide and an animation's panels
at least 256 px high.

List files (``path [label]`` lines): a relative path is joined to
--data-prefix, else to the list file's own folder, never to the working
directory (the convention of every tool reading lists).

Exit status: 0 on success; 1 when too few videos could be read to train
and hold out (bad files are reported on stderr with the reason); 2 for bad
arguments.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import random
import sys
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from tqdm import tqdm

from mmcmd.apis import VideoPipelineDataset, init_embedder
from mmcmd.utils.config_options import CFG_OPTIONS_HELP, merge_cfg_options
from mmcmd.utils.video_check import expand_inputs
from mmcmd.visualization.activation import (
    blend_heatmap,
    clip_frames,
    write_pictures,
)
from mmcmd.visualization.cam import (
    NORMAL,
    REVERSED,
    fit_linear_probe,
    probe_accuracy,
    reversal_cam,
    reversal_features,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config with a model (its backbone '
                        'is probed) and a test_pipeline')
    parser.add_argument('videos', nargs='+', help='video files, folders or '
                        'annotation/list files')
    parser.add_argument('--val-videos', nargs='+', help='held-out videos '
                        '(files, folders, lists); unset: --val-ratio of '
                        'the videos')
    parser.add_argument('--val-ratio', type=float, default=0.3,
                        help='share of the videos held out when '
                        '--val-videos is unset (default: 0.3)')
    parser.add_argument('--checkpoint', help='backbone weights (mmengine '
                        '.pth with backbone.* keys, bare backbone state '
                        'dict, official CMD); unset: random weights')
    parser.add_argument('--out-dir', required=True,
                        help='folder of the accuracy and the pictures')
    parser.add_argument('--pipeline', help='take test_pipeline from this '
                        'config')
    parser.add_argument('--data-prefix', help='folder the relative paths of '
                        "list files are under (default: the list's own "
                        'folder)')
    parser.add_argument('--solver', choices=('lbfgs', 'adam'),
                        default='lbfgs',
                        help='probe training: lbfgs (default) fits the '
                        'whole feature set to convergence; adam is MLFO\'s '
                        'mini-batch recipe, made for large training sets '
                        '(--epochs, --lr, --lr-step, --batch-size)')
    parser.add_argument('--epochs', type=int, default=50,
                        help='adam: probe training epochs (default: 50)')
    parser.add_argument('--lr', type=float, default=1e-3,
                        help='adam: learning rate (default: 1e-3)')
    parser.add_argument('--weight-decay', type=float, default=1e-3,
                        help='L2 penalty of the probe weights (default: '
                        '1e-3)')
    parser.add_argument('--lr-step', type=int, default=30,
                        help='adam: epoch of the tenfold lr drop (default: '
                        '30)')
    parser.add_argument('--batch-size', type=int, default=256,
                        help='adam: probe batch size in clips (default: '
                        '256)')
    parser.add_argument('--num-cams', type=int, default=4,
                        help='held-out videos drawn (default: 4)')
    parser.add_argument('--format', choices=['gif', 'mp4'], default='gif',
                        help='animation format (default: gif)')
    parser.add_argument('--fps', type=float, default=8.0,
                        help='animation frames per second (default: 8)')
    parser.add_argument('--alpha', type=float, default=0.5,
                        help='share of the heat map in the blend '
                        '(default: 0.5)')
    parser.add_argument('--strip-frames', type=int, default=8,
                        help='frames shown in the PNG strip (default: 8)')
    parser.add_argument('--per-clip', action='store_true',
                        help='normalise the CAM over the clip instead of '
                        'per frame')
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the split, probe init and shuffling')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=CFG_OPTIONS_HELP)
    return parser.parse_args(argv)


def split_videos(args: argparse.Namespace) -> Tuple[List[str], List[str]]:
    """(training, held-out) video paths."""
    paths, _ = expand_inputs(args.videos, args.data_prefix)
    if args.val_videos:
        val, _ = expand_inputs(args.val_videos, args.data_prefix)
        held_out = set(val)
        return [p for p in paths if p not in held_out], val
    if not 0 < args.val_ratio < 1:
        raise ValueError(f'--val-ratio must be in (0, 1), got '
                         f'{args.val_ratio}')
    shuffled = list(paths)
    random.Random(args.seed).shuffle(shuffled)
    count = max(1, round(args.val_ratio * len(shuffled)))
    return shuffled[count:], shuffled[:count]


def read_features(model: torch.nn.Module, paths: List[str], what: str,
                  keep: int = 0) -> Dict[str, list]:
    """Order features of every clip of ``paths``; the first ``keep``
    readable videos' middle clip is kept for drawing."""
    out = dict(features=[], labels=[], kept=[], videos=0, failed=0)
    dataset = VideoPipelineDataset(paths, model.cfg)
    for i in tqdm(range(len(dataset)), desc=what, unit='video',
                  file=sys.stderr, disable=len(dataset) < 2):
        item = dataset[i]
        if item['error'] is not None:
            out['failed'] += 1
            print(f'error: {item["path"]}: {item["error"]}', file=sys.stderr)
            continue
        sample = item['sample']
        data = model.data_preprocessor(pseudo_collate([sample]), False)
        clips, raw = data['inputs'][0], sample['inputs']
        if clips.dim() == 4:
            clips, raw = clips[None], raw[None]
        features, labels = reversal_features(model.backbone, clips)
        out['features'].append(features.cpu())
        out['labels'].append(labels)
        out['videos'] += 1
        if len(out['kept']) < keep:
            k = clips.shape[0] // 2
            out['kept'].append((i, item['path'], clips[k], raw[k]))
    return out


def draw(model: torch.nn.Module, probe: torch.nn.Linear, kept: list,
         args: argparse.Namespace, accuracy: Optional[float] = None
         ) -> List[str]:
    """CAM pictures of the kept held-out clips; the files written.
    ``accuracy`` (a fraction) is the probe's held-out order accuracy,
    printed in the title."""
    files = []
    probe = probe.to(next(model.backbone.parameters()).device)
    for i, path, clip, raw in kept:
        frames = clip_frames(raw)
        backwards = frames[::-1].copy()
        heat = [reversal_cam(model.backbone, probe, clip, label,
                             per_frame=not args.per_clip)
                for label in (NORMAL, REVERSED)]
        rows = [frames, blend_heatmap(frames, heat[0], alpha=args.alpha),
                backwards, blend_heatmap(backwards, heat[1],
                                         alpha=args.alpha)]
        name = osp.splitext(osp.basename(path))[0]
        stem = osp.join(args.out_dir, f'{i:03d}_{name}_reversal_cam')
        forward = list(range(len(frames)))
        scope = 'the clip' if args.per_clip else 'each frame'
        title = f'Reversal CAM: {osp.basename(path)}' + (
            '' if accuracy is None else
            f' (held-out order accuracy {accuracy:.3f}, chance 0.5)')
        files += write_pictures(
            stem, rows, fmt=args.format, fps=args.fps,
            count=args.strip_frames, title=title,
            labels=['frames', 'CAM of class "normal"', 'reversed frames',
                    'CAM of class "reversed"'],
            numbers=[forward, forward, forward[::-1], forward[::-1]],
            colorbar_label=f'CAM of the true class, min-max over {scope} '
            f'({round(100 * args.alpha)} % over the frame)',
            number_label='clip frame')
    return files


def main(argv: Optional[List[str]] = None) -> int:
    """Train the probe, score it, draw; the exit status."""
    args = parse_args(argv)
    try:
        train_paths, val_paths = split_videos(args)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if not train_paths or not val_paths:
        print(f'error: need videos to train on and to hold out; found '
              f'{len(train_paths)} and {len(val_paths)}', file=sys.stderr)
        return 2
    cfg = Config.fromfile(args.config)
    if args.pipeline:
        cfg.test_pipeline = Config.fromfile(args.pipeline).test_pipeline
    merge_cfg_options(cfg, args.cfg_options)
    model = init_embedder(cfg, args.checkpoint, args.device)
    model.backbone.requires_grad_(False)
    train = read_features(model, train_paths, 'training features')
    val = read_features(model, val_paths, 'held-out features',
                        keep=args.num_cams)
    if not train['videos'] or not val['videos']:
        print('error: no readable video to train on or to hold out',
              file=sys.stderr)
        return 1
    x_train, y_train = torch.cat(train['features']), torch.cat(
        train['labels'])
    x_val, y_val = torch.cat(val['features']), torch.cat(val['labels'])
    probe = fit_linear_probe(x_train, y_train, epochs=args.epochs,
                             lr=args.lr, weight_decay=args.weight_decay,
                             batch_size=args.batch_size,
                             milestones=(args.lr_step, ), seed=args.seed,
                             solver=args.solver)
    val_acc = probe_accuracy(probe, x_val, y_val)
    row = dict(name='order_accuracy', value=round(val_acc, 4),
               unit='fraction', chance=0.5,
               train_accuracy=probe_accuracy(probe, x_train, y_train),
               val_accuracy=val_acc, num_train_videos=train['videos'],
               num_val_videos=val['videos'],
               num_train_clips=len(y_train) // 2,
               num_val_clips=len(y_val) // 2,
               failed_videos=train['failed'] + val['failed'],
               config=args.config, checkpoint=args.checkpoint,
               solver=args.solver, epochs=args.epochs)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'order_accuracy.json'), 'w',
              encoding='utf-8') as f:
        json.dump(row, f, indent=1)
    print(json.dumps(row))
    for path in draw(model, probe, val['kept'], args, val_acc):
        print(path, file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
