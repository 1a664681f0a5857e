"""Can the demo's clip encoder learn the synthetic motion classes at all?

A method-neutral check of the scene-bias benchmark (docs/scene_bias.md):
train the clip encoder of configs/synthetic WITH labels on an UNBIASED set
(every scene equally likely for every class, so only the motion predicts
the label) for a given number of iterations, then report the accuracy on
unseen unbiased videos. If this supervised reference stays at chance, no
self-supervised method can be expected to learn motion features at that
budget, whatever its objective.

Clips are rendered in memory by mmcmd.datasets.synthetic (no codec: the
question is what the network can learn from the pixels), resized to the
encoder's input size; each iteration draws a batch of videos and a random
start frame per video (no crop, no flip). Optimiser and schedule follow
configs/synthetic/_base_/pretrain_runtime.py: SGD Nesterov, momentum 0.9,
weight decay 1e-3, grad-norm clip 15, linear warm-up over the first 15%
then cosine decay.

Options change the data for the check only (defaults = the demo's data):
``--scene-contrast`` scales the texture contrast of the scenes (0 = flat
colour), ``--plain`` draws every video on a flat grey background,
``--object-size`` sets the object's side as a share of the frame.

Example:
    python tools/analysis/synthetic_learnability.py --iters 300 \\
        --num-per-class 96 --json learnability.json
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os.path as osp
import sys
import time
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
from mmengine.config import DictAction

import mmcmd  # noqa: F401  (registers the models)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODELS_CFG = osp.join(REPO, 'configs', 'synthetic', '_base_', 'models.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--num-per-class', type=int, default=24,
                        help='training videos per class (demo: 24)')
    parser.add_argument('--test-per-class', type=int, default=10,
                        help='test videos per class (demo: 10)')
    parser.add_argument('--iters', type=int, default=300,
                        help='SGD iterations (demo pretraining: 300)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--lr', type=float, default=0.064,
                        help='peak learning rate (demo: 0.064)')
    parser.add_argument('--seed', type=int, default=0,
                        help='data (train and test) and initialisation')
    parser.add_argument('--frames', type=int, default=48,
                        help='frames per rendered video (demo: 48)')
    parser.add_argument('--size', type=int, default=112,
                        help='rendered frame side in px (demo: 112)')
    parser.add_argument('--scene-contrast', type=float, default=1.0,
                        help='texture contrast of the scenes (demo: 1)')
    parser.add_argument('--object-size', type=float, nargs=2,
                        metavar=('LOW', 'HIGH'), default=None,
                        help='object side as a share of the frame side '
                        '(demo: 0.18 0.26)')
    parser.add_argument('--plain', action='store_true',
                        help='flat grey background instead of the scenes')
    parser.add_argument('--config', default=MODELS_CFG,
                        help='config with clip_backbone and clip_shape')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='overrides of that config, e.g. '
                        'clip_backbone.max_pool=False')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads')
    parser.add_argument('--log-every', type=int, default=50)
    parser.add_argument('--json', help='write the result here')
    return parser.parse_args(argv)


@contextlib.contextmanager
def data_variant(args: argparse.Namespace) -> Iterator[None]:
    """Set the generator's object size or plain background for this check,
    then restore them (the scene contrast is passed per video)."""
    from mmcmd.datasets import synthetic
    saved = synthetic.OBJECT_SIZE_RANGE, synthetic.scene_image
    if args.object_size:
        synthetic.OBJECT_SIZE_RANGE = tuple(args.object_size)
    if args.plain:
        synthetic.scene_image = lambda params, t=0: np.full(
            (params.height, params.width, 3), 128.0, np.float32)
    try:
        yield
    finally:
        synthetic.OBJECT_SIZE_RANGE, synthetic.scene_image = saved


def render_split(per_class: int, rng: np.random.Generator,
                 args: argparse.Namespace, side: int
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unbiased videos uint8 (N, T, side, side, 3), labels, scene ids."""
    import cv2

    from mmcmd.datasets import synthetic
    videos, labels, scenes = [], [], []
    num_scenes = len(synthetic.SCENES)
    for label in range(len(synthetic.CLASSES)):
        for scene in rng.permutation(np.arange(per_class) % num_scenes):
            frames = synthetic.render_video(
                label, int(scene), rng, (args.size, args.size), args.frames,
                scene_contrast=args.scene_contrast)
            videos.append(np.stack([cv2.resize(
                f, (side, side), interpolation=cv2.INTER_AREA)
                for f in frames]))
            labels.append(label)
            scenes.append(int(scene))
    return np.stack(videos), np.array(labels), np.array(scenes)


def build_encoder(config: str, options: Optional[dict] = None):
    """The demo's clip encoder (last stage) and its clip shape."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    backbone = dict(cfg.clip_backbone)
    backbone['out_indices'] = (max(backbone.get('out_indices', (3, ))), )
    encoder = MODELS.build(backbone)
    encoder.init_weights()
    return encoder, tuple(cfg.clip_shape)


def to_clips(videos: np.ndarray, starts: np.ndarray, clip_len: int,
             interval: int):
    """Normalised float clips (N, 3, T, H, W) starting at ``starts``."""
    import torch

    from mmcmd.models.data_preprocessors.cmd_data_preprocessor import (
        IMAGENET_MEAN,
        IMAGENET_STD,
    )
    idx = starts[:, None] + interval * np.arange(clip_len)[None]
    clips = videos[np.arange(len(videos))[:, None], idx]  # N T H W C
    x = torch.from_numpy(np.ascontiguousarray(clips)).permute(0, 4, 1, 2, 3)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1, 1)
    return (x.float() - mean) / std


def run(args: argparse.Namespace) -> Dict:
    import torch
    from torch import nn
    from tqdm import tqdm
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    encoder, (clip_len, side, _) = build_encoder(args.config, args.cfg_options)
    interval = 2  # the demo's frame interval
    span = (clip_len - 1) * interval + 1
    if span > args.frames:
        raise SystemExit(f'--frames {args.frames} is shorter than one clip '
                         f'({clip_len} frames at interval {interval})')
    train_rng, test_rng, batch_rng = (np.random.default_rng(s) for s in
                                      np.random.SeedSequence(
                                          args.seed).spawn(3))
    start = time.time()
    with data_variant(args):
        x_train, y_train, _ = render_split(args.num_per_class, train_rng,
                                           args, side)
        x_test, y_test, _ = render_split(args.test_per_class, test_rng,
                                         args, side)
    render_s = time.time() - start
    num_classes = int(y_train.max()) + 1
    head = nn.Linear(encoder.out_channels, num_classes)
    params = list(encoder.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9,
                                nesterov=True, weight_decay=1e-3)
    warmup = max(1, int(0.15 * args.iters))

    def factor(step: int) -> float:
        if step < warmup:
            return 0.01 + 0.99 * step / warmup
        done = (step - warmup) / max(1, args.iters - warmup)
        return 0.5 * (1 + math.cos(math.pi * done))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def logits(x):
        return head(encoder(x).mean((2, 3, 4)))

    curve, window_loss, window_acc = [], [], []
    encoder.train()
    bar = tqdm(range(args.iters), desc='supervised on unbiased clips',
               unit='it')
    for step in bar:
        pick = batch_rng.integers(0, len(x_train), args.batch_size)
        starts = batch_rng.integers(0, args.frames - span + 1,
                                    args.batch_size)
        target = torch.from_numpy(y_train[pick]).long()
        out = logits(to_clips(x_train[pick], starts, clip_len, interval))
        loss = nn.functional.cross_entropy(out, target)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 15)
        optimizer.step()
        schedule.step()
        window_loss.append(loss.item())
        window_acc.append((out.argmax(1) == target).float().mean().item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.iters:
            curve.append(dict(iter=step + 1,
                              loss=round(float(np.mean(window_loss)), 4),
                              batch_acc=round(float(np.mean(window_acc)),
                                              4)))
            bar.set_postfix(loss=curve[-1]['loss'])
            window_loss, window_acc = [], []
    encoder.eval()

    def accuracy(videos, labels) -> float:
        middle = np.full(len(videos), (args.frames - span) // 2)
        with torch.no_grad():
            pred = torch.cat([logits(to_clips(videos[i:i + 32],
                                              middle[i:i + 32], clip_len,
                                              interval)).argmax(1)
                              for i in range(0, len(videos), 32)])
        return round(float((pred.numpy() == labels).mean()), 4)

    return dict(
        train_acc=accuracy(x_train, y_train),
        test_acc=accuracy(x_test, y_test),
        chance=round(1 / num_classes, 4),
        chance_loss=round(math.log(num_classes), 4),
        curve=curve,
        settings=dict(num_per_class=args.num_per_class,
                      test_per_class=args.test_per_class, iters=args.iters,
                      batch_size=args.batch_size, lr=args.lr,
                      seed=args.seed, scene_contrast=args.scene_contrast,
                      object_size=args.object_size, plain=args.plain,
                      cfg_options=dict(args.cfg_options),
                      input=[clip_len, side, side], interval=interval),
        render_s=round(render_s, 1),
        train_s=round(time.time() - start - render_s, 1))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    result = run(args)
    for point in result['curve']:
        print(f"iter {point['iter']:>5}  loss {point['loss']:.3f}  "
              f"batch acc {point['batch_acc']:.2f}")
    print(f"train acc {result['train_acc']:.3f}  test acc (unseen, "
          f"unbiased) {result['test_acc']:.3f}  chance {result['chance']:.3f}"
          f"  (chance loss {result['chance_loss']:.3f})")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
