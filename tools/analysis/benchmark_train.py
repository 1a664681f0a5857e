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
from mmaction.structures import ActionDataSample

import mmcmd  # noqa: F401
from mmcmd.models.presets import CLIP_BACKBONES, cmd_model_cfg
from mmcmd.models.selfsup.base import build_module, probe_output_shapes


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
    p.add_argument('--json', required=True, help='output file')
    return p.parse_args(argv)


def supervised_cfg(backbone: str, num_classes: int = 101) -> dict:
    """Recognizer3D + I3DHead with the clip backbone of ``backbone``."""
    clip = dict(CLIP_BACKBONES[backbone])
    clip.pop('out_indices', None)
    channels = probe_output_shapes(clip, (3, 16, 112, 112))[-1][0]
    return dict(type='Recognizer3D', backbone=clip,
                cls_head=dict(type='I3DHead', in_channels=channels,
                              num_classes=num_classes),
                data_preprocessor=dict(type='ActionDataPreprocessor'))


def make_steps(args: argparse.Namespace, device: torch.device,
               channels_last: bool) -> Dict[str, Callable[[], torch.Tensor]]:
    """name -> closure computing the training loss of one synthetic batch."""
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    b = args.batch

    def clip(*shape):
        x = torch.randn(*shape, device=device)
        return x.contiguous(memory_format=fmt) if x.dim() == 5 else x

    cmd = build_module(cmd_model_cfg(args.backbone)).to(device)
    cmd.init_weights()
    cmd = cmd.to(memory_format=fmt).train()
    cmd_inputs = dict(
        imgs=clip(b, 3, 16, 112, 112), keyframe=torch.randn(b, 3, 112, 112,
                                                             device=device),
        motion=clip(b, 2, 8, 112, 112),
        negative_motion=torch.randn(b, args.negatives, 2, 8, 112, 112,
                                    device=device))
    sup = build_module(supervised_cfg(args.backbone)).to(device)
    sup.init_weights()
    sup = sup.to(memory_format=fmt)
    sup.train()
    sup_inputs = clip(b, 3, 16, 112, 112).unsqueeze(1)
    samples = [ActionDataSample().set_gt_label(i % 101) for i in range(b)]

    def cmd_step() -> torch.Tensor:
        losses = cmd.loss(cmd_inputs)
        return losses['loss_context'] + losses['loss_motion']

    def sup_step() -> torch.Tensor:
        losses = sup(sup_inputs, samples, mode='loss')
        return sum(v for k, v in losses.items() if 'loss' in k)

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
    totals = {}
    with torch.device('meta'):
        cmd = build_module(cmd_model_cfg(args.backbone))
        sup = build_module(supervised_cfg(args.backbone))
        inputs = dict(imgs=torch.randn(b, 3, 16, 112, 112),
                      keyframe=torch.randn(b, 3, 112, 112),
                      motion=torch.randn(b, 2, 8, 112, 112),
                      negative_motion=torch.randn(b, n, 2, 8, 112, 112))
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
                  clip='16x112x112', motion='8x112x112')
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
