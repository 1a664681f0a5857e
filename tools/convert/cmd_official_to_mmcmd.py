"""Convert an official CMD pretraining checkpoint to an mmcmd CMD checkpoint.

    python tools/convert/cmd_official_to_mmcmd.py official.pth \
        checkpoints/cmd_r2plus1d-26_official.pth [--arch r2plus1d_26]

The input may be a bare state dict or wrapped in ``{'state_dict': ...}`` /
``{'model': ...}``, with or without DDP's ``module.`` prefix. The output's
``state_dict`` has the keys of the mmcmd ``CMD`` model: resume pretraining
with ``load_from``, finetune with backbone init_cfg Pretrained and prefix
'backbone.', or embed with init_embedder. Exit code 1 with a message naming
the file when names or shapes do not match.
"""
import argparse
import os
import os.path as osp
import sys

import torch

from mmcmd.apis.convert import (
    ARCH_ALIASES,
    convert_official_cmd,
    count_parameters,
)
from mmcmd.utils.checkpoint import (
    UnsafeCheckpointError,
    load_checkpoint_file,
    unwrap_state_dict,
)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official CMD pretraining checkpoint')
    parser.add_argument('dst', help='output mmcmd checkpoint (.pth)')
    parser.add_argument('--arch', choices=sorted(ARCH_ALIASES),
                        help='clip backbone (default: detected from the keys)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Convert, save, print a summary; 0 on success, 1 on a bad input."""
    args = parse_args(argv)
    try:
        state = unwrap_state_dict(load_checkpoint_file(args.src), args.src)
        checkpoint = convert_official_cmd(state, args.arch, args.src)
    except (OSError, KeyError, TypeError, ValueError,
            UnsafeCheckpointError) as error:
        message = (error.args[0] if isinstance(error, KeyError)
                   and error.args else str(error))
        print(f'error: {message}', file=sys.stderr)
        return 1
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(checkpoint, args.dst)
    num = count_parameters(checkpoint['state_dict'])
    print(f'{args.src} -> {args.dst}: CMD with {checkpoint["meta"]["arch"]} '
          f'clip backbone, {len(checkpoint["state_dict"])} tensors, '
          f'{num:,} parameters')
    return 0


if __name__ == '__main__':
    sys.exit(main())
