"""Training-step time and peak memory: CMD pretraining vs supervised training.

Both models use the same clip backbone and batch; the supervised baseline is
mmaction2's Recognizer3D + I3DHead. Rows are measured in one run, so their
ratios are comparable. Example::

    python tools/analysis/benchmark_train.py --backbone r2plus1d-26 \
        --batch 8 --iters 20 --amp bf16 --channels-last --json bench.json
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import sys
import time
from typing import Callable, Dict, List

import torch

import mmcmd  # noqa: F401
from mmcmd.models.presets import CLIP_BACKBONES, cmd_model_cfg
from mmcmd.models.utils import build_module, probe_output_shapes


def parse_args(argv: List[str] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--backbone', default='r2plus1d-26',
                   choices=sorted(CLIP_BACKBONES))
    p.add_argument('--batch', type=int, default=8, help='clips per step')
    p.add_argument('--iters', type=int, default=10, help='timed steps')
    p.add_argument('--warmup', type=int, default=2, help='untimed steps')
    p.add_argument('--negatives', type=int, default=3,
                   help='hard-negative motion windows per clip')
    p.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda'")
    p.add_argument('--amp', default='bf16', choices=['bf16', 'fp16', 'none'],
                   help='also measure with this autocast dtype')
    p.add_argument('--channels-last', action='store_true',
                   help='also measure with channels_last_3d memory format')
    p.add_argument('--tiny', action='store_true',
                   help='a depth-10, 8-channel model on 8x32x32 clips and '
                   '4x32x32 motion: checks the script on a CPU in seconds '
                   '(its figures mean nothing)')
    p.add_argument('--json', required=True, help='output file')
    args = p.parse_args(argv)
    args.clip_shape = (8, 32, 32) if args.tiny else (16, 112, 112)
    args.motion_shape = (4, 32, 32) if args.tiny else (8, 112, 112)
    return args


#: what --tiny changes in the CMD model (as tests/configs/tiny_cmd_pretrain)
TINY_MODEL = dict(
    backbone=dict(depth=10, base_channels=8),
    motion_backbone=dict(base_channels=8),
    keyframe_backbone=dict(base_channels=8),
    context_head=dict(hidden_channels=64, out_channels=32),
    motion_head=dict(embed_dims=32, num_heads=2, num_encoder_layers=1,
                     num_decoder_layers=1, feedforward_channels=32,
                     hidden_channels=64, out_channels=32),
    clip_shape=(8, 32, 32), motion_shape=(4, 32, 32), keyframe_shape=(32, 32))


def _merged(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` merged in, nested dicts key by key."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = (_merged(out[key], value) if isinstance(value, dict)
                    and isinstance(out.get(key), dict) else value)
    return out


def cmd_cfg(args: argparse.Namespace) -> dict:
    """The CMD model of ``--backbone`` (shrunk with ``--tiny``)."""
    cfg = cmd_model_cfg(args.backbone)
    return _merged(cfg, TINY_MODEL) if args.tiny else cfg


def supervised_cfg(backbone: str, num_classes: int = 101,
                   tiny: bool = False) -> dict:
    """Recognizer3D + I3DHead with the clip backbone of ``backbone``."""
    clip = dict(CLIP_BACKBONES[backbone])
    if tiny:
        clip = _merged(clip, TINY_MODEL['backbone'])
    clip.pop('out_indices', None)
    shape = (8, 32, 32) if tiny else (16, 112, 112)
    channels = probe_output_shapes(clip, (3, *shape))[-1][0]
    return dict(type='Recognizer3D', backbone=clip,
                cls_head=dict(type='I3DHead', in_channels=channels,
                              num_classes=num_classes),
                data_preprocessor=dict(type='ActionDataPreprocessor'))


def make_steps(args: argparse.Namespace, device: torch.device,
               channels_last: bool) -> Dict[str, Callable[[], torch.Tensor]]:
    """name -> closure computing the training loss of one synthetic batch."""
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    b = args.batch
    t, h, w = args.clip_shape
    tm, hm, wm = args.motion_shape

    def clip(*shape):
        x = torch.randn(*shape, device=device)
        return x.contiguous(memory_format=fmt) if x.dim() == 5 else x

    cmd = build_module(cmd_cfg(args)).to(device)
    cmd.init_weights()
    cmd = cmd.to(memory_format=fmt).train()
    cmd_inputs = dict(
        imgs=clip(b, 3, t, h, w), keyframe=torch.randn(b, 3, h, w,
                                                       device=device),
        motion=clip(b, 2, tm, hm, wm),
        negative_motion=torch.randn(b, args.negatives, 2, tm, hm, wm,
                                    device=device))
    sup = build_module(supervised_cfg(args.backbone, tiny=args.tiny)).to(
        device)
    sup.init_weights()
    sup = sup.to(memory_format=fmt)
    sup.train()
    sup_inputs = clip(b, 3, t, h, w).unsqueeze(1)
    labels = torch.arange(b, device=device) % 101

    def cmd_step() -> torch.Tensor:
        losses = cmd.loss(cmd_inputs)
        return losses['loss_context'] + losses['loss_motion']

    def sup_step() -> torch.Tensor:
        # Recognizer3D's loss mode, less the head's top-k accuracy: mmaction
        # computes it in numpy, which refuses the bf16 scores of autocast.
        feats, _ = sup.extract_feat(sup_inputs)
        scores = sup.cls_head(feats)
        return sup.cls_head.loss_cls(scores.float(), labels)

    return {'cmd': (cmd, cmd_step), 'supervised': (sup, sup_step)}


def time_steps(model: torch.nn.Module, step: Callable[[], torch.Tensor],
               args: argparse.Namespace, device: torch.device,
               amp: str) -> Dict[str, float]:
    """Mean step time (ms) of forward + backward + SGD step, peak memory."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(amp)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == 'fp16')
    autocast = (torch.autocast(device.type, dtype=dtype) if dtype
                else contextlib.nullcontext())

    def one():
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = step()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    for _ in range(args.warmup):
        one()
    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.iters):
        one()
    sync()
    ms = (time.perf_counter() - start) / args.iters * 1000
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:  # process-wide high-water mark (Linux reports KiB)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(step_ms=ms, peak_mib=peak)


def flop_rows(args: argparse.Namespace) -> List[dict]:
    """Forward + backward GFLOP per clip of both models (meta device, exact
    counts of matmuls/convs, independent of the machine)."""
    from torch.utils.flop_counter import FlopCounterMode
    b, n = 2, args.negatives
    t, h, w = args.clip_shape
    tm, hm, wm = args.motion_shape
    totals = {}
    with torch.device('meta'):
        cmd = build_module(cmd_cfg(args))
        sup = build_module(supervised_cfg(args.backbone, tiny=args.tiny))
        inputs = dict(imgs=torch.randn(b, 3, t, h, w),
                      keyframe=torch.randn(b, 3, h, w),
                      motion=torch.randn(b, 2, tm, hm, wm),
                      negative_motion=torch.randn(b, n, 2, tm, hm, wm))
        labels = torch.zeros(b, dtype=torch.long)
        with FlopCounterMode(display=False) as counter:
            losses = cmd.loss(inputs)
            (losses['loss_context'] + losses['loss_motion']).backward()
        totals['cmd'] = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            # backbone + head by hand: the head's accuracy needs real data
            scores = sup.cls_head(sup.backbone(inputs['imgs']))
            torch.nn.functional.cross_entropy(scores, labels).backward()
        totals['supervised'] = counter.get_total_flops()
    rows = [dict(name=f'{k}/train_gflop_per_clip', value=round(v / b / 1e9, 2),
                 unit='GFLOP') for k, v in totals.items()]
    rows.append(dict(name='cmd_over_supervised_flops',
                     value=round(totals['cmd'] / totals['supervised'], 3),
                     unit='x'))
    return rows


def machine_info(device: torch.device) -> dict:
    """Where the numbers were measured."""
    info = dict(python=sys.version.split()[0], torch=torch.__version__,
                platform=platform.platform(), cpu_count=os.cpu_count(),
                torch_threads=torch.get_num_threads(), device=str(device))
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def main(argv: List[str] = None) -> int:
    """Run every variant and write the JSON report."""
    args = parse_args(argv)
    name = args.device
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(name)
    variants = [('fp32', 'none', False)]
    if args.amp != 'none':
        variants.append((args.amp, args.amp, False))
    if args.channels_last:
        variants.append(('fp32+channels_last', 'none', True))
        if args.amp != 'none':
            variants.append((f'{args.amp}+channels_last', args.amp, True))
    rows: List[dict] = flop_rows(args)
    config = dict(backbone=args.backbone, batch=args.batch, iters=args.iters,
                  warmup=args.warmup, negatives=args.negatives,
                  tiny=args.tiny,
                  clip='x'.join(map(str, args.clip_shape)),
                  motion='x'.join(map(str, args.motion_shape)))
    for label, amp, channels_last in variants:
        results = {}
        for model_name, (model, step) in make_steps(
                args, device, channels_last).items():
            r = time_steps(model, step, args, device, amp)
            results[model_name] = r
            rows.append(dict(name=f'{label}/{model_name}/step_time',
                             value=round(r['step_ms'], 2), unit='ms'))
            rows.append(dict(name=f'{label}/{model_name}/peak_memory',
                             value=round(r['peak_mib'], 1),
                             unit='MiB' if device.type == 'cuda'
                             else 'MiB (process max RSS)'))
            print(f'{label:>24} {model_name:>10}: {r["step_ms"]:9.1f} ms/step',
                  flush=True)
        rows.append(dict(
            name=f'{label}/cmd_over_supervised_step_time',
            value=round(results['cmd']['step_ms'] /
                        results['supervised']['step_ms'], 3), unit='x'))
        # Written after every variant so a long run keeps what it measured.
        with open(args.json, 'w') as f:
            json.dump(dict(machine=machine_info(device), config=config,
                           rows=rows), f, indent=2)
    print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
