"""Why does CMD's motion task learn or stall? Measure its training signal.

For a CMD pretraining config (default: the scene-bias demo's,
configs/synthetic/cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py) on its
real training pipeline, at initialisation and after each step count of
``--steps`` (trained with the config's optimiser and gradient clipping at
its base learning rate, no schedule), one JSON row per point with, averaged
over ``--batches`` batches:

- ``num_keys`` (K, keys per batch), ``ln_keys`` (chance loss ln K),
  ``still_share`` (keys of still cells: mean motion magnitude at most the
  head's ``still_threshold``);
- ``duplicate_key_share``: keys with cosine > ``--duplicate-cosine``
  (0.99) to another key, overall and among still / moving keys;
- ``loss_motion`` (the reference loss: every key in every softmax) and its
  split over the queries of still cells and of moving cells
  (``loss_still``, ``loss_moving``), the top-1 accuracies likewise;
- ``loss_moving_own`` / ``acc_moving_own``: the same for the moving
  cells in the key set the head trains with (its ``still_cells`` mode);
- ``loss_floor``: the lowest loss attainable if keys within the duplicate
  cosine were identical (a query whose positive has n such twins cannot go
  below ln n), overall and per split;
- ``grad_norm``: the gradient norm of each top-level part of the model
  (backbone, neck, motion_backbone, keyframe_backbone, context_head,
  motion_head) for the motion loss, the context loss and their sum, the
  total norm and ``clip_share``, the share of batches whose total norm
  exceeds the config's ``clip_grad.max_norm`` (where clipping fires).

``--fixed-batch N`` instead trains on ONE batch for up to N steps (Adam,
``--fixed-lr``) and reports the step at which ``acc_motion`` first reaches
``--fixed-target``: the pathway check (a model that cannot memorise one
batch has a broken motion pathway). docs/scene_bias_history.md
(2026-12-04) shows the rows for the shipped config.

Example (the demo's data: ``python tools/demo.py`` writes it to
work_dirs/demo/data):
    python tools/analysis/motion_diagnostics.py --data-root \\
        work_dirs/demo/data --steps 100 300 --json diagnostics.json
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os.path as osp
import sys
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

import mmcmd
from mmcmd.datasets.annotations import point_dataset_at
from mmcmd.engine.runner_config import unpin_without_accelerator
from mmcmd.models.heads.motion_prediction_head import (
    still_cells,
    still_key_groups,
)
from mmcmd.models.utils import final_map
from mmcmd.utils.checkpoint import load_checkpoint_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'synthetic',
                          'cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py')
PARTS = ('backbone', 'neck', 'motion_backbone', 'keyframe_backbone',
         'context_head', 'motion_head')


# ------------------------------------------------------------- building
def load_config(path: str, data_root: Optional[str],
                options: Optional[Mapping[str, Any]] = None,
                batch_size: Optional[int] = None,
                num_workers: int = 0) -> Config:
    """The config with its train set pointed at ``data_root`` (a folder
    holding ``train.txt``, paths relative to it, as the synthetic generator
    writes) and the loader sized for measuring."""
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(dict(options))
    loader = cfg.train_dataloader
    if data_root is not None:
        ann = osp.join(data_root, 'train.txt')
        if not osp.isfile(ann):
            raise FileNotFoundError(
                f'{ann}: no train list; pass --data-root a folder made by '
                'mmcmd.datasets.synthetic.generate_dataset (or tools/demo.py'
                ', which writes work_dirs/demo/data)')
        point_dataset_at(loader.dataset, data_root, ann_file=ann)
    if batch_size:
        loader.batch_size = batch_size
    loader.num_workers = num_workers
    loader.persistent_workers = False
    loader.pop('prefetch_factor', None)
    return cfg


def build(cfg: Config, seed: int = 0, checkpoint: Optional[str] = None):
    """(model with its init weights, or those of ``checkpoint``, train
    loader) of ``cfg``."""
    mmcmd.register_all_modules(init_default_scope=True)
    torch.manual_seed(seed)
    from mmaction.registry import MODELS
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    if checkpoint:
        state = load_checkpoint_file(checkpoint, map_location='cpu')
        model.load_state_dict(state.get('state_dict', state))
    loader = Runner.build_dataloader(
        unpin_without_accelerator(copy.deepcopy(cfg.train_dataloader)),
        seed=seed)
    return model, loader


def batches(loader) -> Iterator[dict]:
    """Endless batches of ``loader``."""
    while True:
        yield from loader


# ------------------------------------------------------------ measuring
def motion_signal(model, inputs: Mapping[str, torch.Tensor]) -> dict:
    """Queries, keys and still mask of the motion task on one batch."""
    head = model.motion_head
    clip_map = model.clip_map(inputs['imgs'])
    windows = model.motion_windows(inputs)
    motion_map = final_map(model.motion_backbone(windows))
    query = head(clip_map).flatten(0, 1)
    keys = head.encode_motion(motion_map).flatten(0, 1)
    still = still_cells(windows, motion_map.shape[2:],
                        head.still_threshold).flatten()
    return dict(query=query, keys=keys, still=still)


def _mean(values: torch.Tensor, mask: torch.Tensor) -> Optional[float]:
    """Mean of ``values`` where ``mask``; None when the mask is empty."""
    if not bool(mask.any()):
        return None
    return float(values[mask].float().mean())


def signal_stats(query: torch.Tensor, keys: torch.Tensor,
                 still: torch.Tensor, temperature: float,
                 duplicate_cosine: float = 0.99) -> Dict[str, Any]:
    """The reference loss of every query, split by still / moving cells,
    key duplication and the loss floor it implies (see the module doc)."""
    num_queries, num_keys = query.shape[0], keys.shape[0]
    labels = torch.arange(num_queries)
    logits = query @ keys.t() / temperature
    loss = F.cross_entropy(logits, labels, reduction='none')
    hits = (logits.argmax(dim=1) == labels).float()
    cosine = keys @ keys.t()
    twins = (cosine > duplicate_cosine).sum(dim=1)  # includes the key
    duplicate = twins > 1
    floor = torch.log(twins[:num_queries].float())
    still_q = still[:num_queries]
    stats = dict(num_keys=num_keys, ln_keys=math.log(num_keys),
                 still_share=float(still.float().mean()),
                 still_query_share=float(still_q.float().mean()),
                 duplicate_key_share=float(duplicate.float().mean()),
                 duplicate_still_key_share=_mean(duplicate, still),
                 duplicate_moving_key_share=_mean(duplicate, ~still),
                 loss_motion=float(loss.mean()),
                 acc_motion=float(hits.mean()),
                 loss_floor=float(floor.mean()))
    for name, mask in (('still', still_q), ('moving', ~still_q)):
        stats[f'loss_{name}'] = _mean(loss, mask)
        stats[f'acc_{name}'] = _mean(hits, mask)
        stats[f'loss_floor_{name}'] = _mean(floor, mask)
    return stats


def own_key_set_stats(head, query: torch.Tensor, keys: torch.Tensor,
                      still: torch.Tensor) -> Dict[str, Optional[float]]:
    """Loss and top-1 accuracy of the moving cells' queries in the key set
    the head trains with (its ``still_cells`` mode), unweighted."""
    groups = still_key_groups(still, getattr(head, 'still_cells', 'keep'))
    moving = (~still[:query.shape[0]]).float()
    if not bool(moving.any()):
        return dict(loss_moving_own=None, acc_moving_own=None)
    weight = getattr(head.loss_module, 'loss_weight', 1.0) or 1.0
    with torch.no_grad():
        loss, acc = head.loss_module(query, keys, groups, moving)
    return dict(loss_moving_own=float(loss) / weight,
                acc_moving_own=float(acc))


def grad_norms(model, losses: Mapping[str, torch.Tensor]
               ) -> Dict[str, Dict[str, float]]:
    """Gradient norm of every part of the model, per loss term and for
    their sum (``total``); each entry also has the whole model's norm."""
    terms = {'motion': losses['loss_motion'],
             'context': losses['loss_context']}
    terms['total'] = terms['motion'] + terms['context']
    out: Dict[str, Dict[str, float]] = {}
    for name, value in terms.items():
        model.zero_grad(set_to_none=True)
        value.backward(retain_graph=name != 'total')
        norms = {}
        for part in PARTS:
            module = getattr(model, part, None)
            if module is None:
                continue
            grads = [p.grad.norm() for p in module.parameters()
                     if p.grad is not None]
            norms[part] = float(torch.stack(grads).norm()) if grads else 0.0
        grads = [p.grad.norm() for p in model.parameters()
                 if p.grad is not None]
        norms['model'] = float(torch.stack(grads).norm())
        out[name] = norms
    model.zero_grad(set_to_none=True)
    return out


def average(rows: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Field-wise mean of ``rows`` (nested dicts too; None values skipped)."""
    out: Dict[str, Any] = {}
    for key in rows[0]:
        values = [row[key] for row in rows if row.get(key) is not None]
        if not values:
            out[key] = None
        elif isinstance(values[0], dict):
            out[key] = average(values)
        else:
            out[key] = sum(values) / len(values)
    return out


def measure(model, stream: Iterator[dict], num_batches: int,
            max_norm: Optional[float], duplicate_cosine: float = 0.99
            ) -> Dict[str, Any]:
    """One row: the statistics of ``num_batches`` batches (train mode, as
    the step sees them; the weights are not changed)."""
    model.train()
    head = model.motion_head
    temperature = getattr(head.loss_module, 'temperature', 0.1)
    rows = []
    for _ in range(num_batches):
        data = model.data_preprocessor(next(stream), True)
        with torch.no_grad():
            signal = motion_signal(model, data['inputs'])
        row = signal_stats(signal['query'], signal['keys'], signal['still'],
                           temperature, duplicate_cosine)
        row.update(own_key_set_stats(head, **signal))
        row['grad_norm'] = grad_norms(model, model(**data, mode='loss'))
        total = row['grad_norm']['total']['model']
        row['clip_share'] = (float(total > max_norm)
                             if max_norm is not None else None)
        rows.append(row)
    return average(rows)


def train_steps(model, optim_wrapper, stream: Iterator[dict],
                steps: int) -> List[float]:
    """``steps`` optimiser steps on fresh batches; their motion losses."""
    model.train()
    history = []
    for _ in range(steps):
        data = model.data_preprocessor(next(stream), True)
        losses = model(**data, mode='loss')
        parsed, _ = model.parse_losses(losses)
        optim_wrapper.update_params(parsed)
        history.append(float(losses['loss_motion'].detach()))
    return history


def fixed_batch(model, batch: dict, max_steps: int, lr: float = 1e-3,
                target: float = 0.5) -> Dict[str, Any]:
    """Train on ONE batch with Adam until ``acc_motion`` >= ``target`` or
    ``max_steps``; returns the first and last loss/accuracy and the step
    at which the target was reached (None if never)."""
    model.train()
    data = model.data_preprocessor(batch, True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    first: Optional[Dict[str, float]] = None
    reached = None
    loss = acc = float('nan')
    for step in range(1, max_steps + 1):
        losses = model(**data, mode='loss')
        loss = float(losses['loss_motion'].detach())
        acc = float(losses['acc_motion'])
        if first is None:
            first = dict(loss_motion=loss, acc_motion=acc)
        if acc >= target:
            reached = step - 1  # steps taken before this forward
            break
        optimizer.zero_grad(set_to_none=True)
        (losses['loss_motion'] + losses['loss_context']).backward()
        optimizer.step()
    return dict(first=first, last=dict(loss_motion=loss, acc_motion=acc),
                target=target, steps_to_target=reached, max_steps=max_steps,
                lr=lr)


# ----------------------------------------------------------------- main
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.split('\n')[2:]))
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG,
                        help='CMD pretraining config (default: the demo\'s)')
    parser.add_argument('--checkpoint', default=None,
                        help='measure a trained model (a checkpoint of '
                        'tools/train.py or the demo) instead of the init')
    parser.add_argument('--data-root', default=None,
                        help='folder with train.txt and the videos (paths '
                        'in the list relative to it); default: the '
                        'config\'s own train set')
    parser.add_argument('--steps', type=int, nargs='*', default=[],
                        metavar='N', help='also measure after these '
                        'cumulative numbers of training steps (e.g. 100 '
                        '300)')
    parser.add_argument('--batches', type=int, default=4,
                        help='batches averaged per row (default 4)')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='override the config\'s batch size')
    parser.add_argument('--duplicate-cosine', type=float, default=0.99,
                        help='cosine above which two keys count as twins')
    parser.add_argument('--fixed-batch', type=int, default=0, metavar='N',
                        help='instead: train on one batch for up to N steps '
                        '(Adam) and report when acc_motion reaches '
                        '--fixed-target')
    parser.add_argument('--fixed-lr', type=float, default=1e-3)
    parser.add_argument('--fixed-target', type=float, default=0.5)
    parser.add_argument('--workers', type=int, default=2,
                        help='loader workers (default 2)')
    parser.add_argument('--threads', type=int, default=0,
                        help='torch threads (default: torch\'s choice)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='overrides of the config (e.g. '
                        "model.motion_head.still_cells=collapse)")
    parser.add_argument('--json', metavar='PATH',
                        help='also write the rows to PATH (a JSON list)')
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """Every row the flags ask for."""
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.data_root, args.cfg_options,
                      args.batch_size, args.workers)
    model, loader = build(cfg, args.seed, args.checkpoint)
    stream = batches(loader)
    base = dict(config=osp.relpath(args.config, REPO)
                if args.config.startswith(REPO) else args.config,
                batch_size=cfg.train_dataloader.batch_size, seed=args.seed,
                cfg_options=dict(args.cfg_options),
                checkpoint=args.checkpoint)
    if args.fixed_batch:
        return [dict(base, kind='fixed_batch', **fixed_batch(
            model, next(stream), args.fixed_batch, args.fixed_lr,
            args.fixed_target))]
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    max_norm = (optim_cfg.get('clip_grad') or {}).get('max_norm')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    rows, done = [], 0
    for target in [0, *sorted(args.steps)]:
        start = time.time()
        history = train_steps(model, optim_wrapper, stream, target - done)
        done = target
        row = dict(base, kind='signal', step=done,
                   train_loss_motion_last=(sum(history[-10:])
                                           / len(history[-10:])
                                           if history else None),
                   **measure(model, stream, args.batches, max_norm,
                             args.duplicate_cosine))
        row['seconds'] = round(time.time() - start, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    """Run and write the rows; the exit code."""
    args = parse_args(argv)
    try:
        rows = run(args)
    except FileNotFoundError as error:
        print(f'motion_diagnostics: {error}', file=sys.stderr)
        return 1
    if args.fixed_batch:
        print(json.dumps(rows[0]), flush=True)
    if args.json:
        with open(args.json, 'w') as file:
            json.dump(rows, file, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
