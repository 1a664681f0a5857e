"""Convert a ModelScope CMD backbone (pytorch_model.pt) to an mmcmd checkpoint.

    python tools/convert/modelscope_to_mmcmd.py pytorch_model.pt \
        checkpoints/cmd_r2plus1d-26_modelscope.pth [--arch r2plus1d_26]

The output holds ``{'meta': ..., 'state_dict': {'backbone.<key>': ...}}``;
init_embedder, finetune configs (backbone init_cfg Pretrained with prefix
'backbone.') and tools/test.py load it. Exit code 1 with a message naming the
file when the tensors do not match the mmcmd backbone.
"""
import argparse
import os
import os.path as osp
import sys

import torch

from mmcmd.apis.convert import (
    ARCH_ALIASES,
    convert_modelscope,
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
    parser.add_argument('src', help='ModelScope pytorch_model.pt')
    parser.add_argument('dst', help='output mmcmd checkpoint (.pth)')
    parser.add_argument('--arch', choices=sorted(ARCH_ALIASES),
                        help='backbone (default: detected from the keys)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Convert, save, print a summary; 0 on success, 1 on a bad input."""
    args = parse_args(argv)
    try:
        state = unwrap_state_dict(load_checkpoint_file(args.src), args.src)
        checkpoint = convert_modelscope(state, args.arch, args.src)
    except (OSError, KeyError, TypeError, ValueError,
            UnsafeCheckpointError) as error:
        message = (error.args[0] if isinstance(error, KeyError)
                   and error.args else str(error))
        print(f'error: {message}', file=sys.stderr)
        return 1
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(checkpoint, args.dst)
    num = count_parameters(checkpoint['state_dict'])
    print(f'{args.src} -> {args.dst}: {checkpoint["meta"]["arch"]} backbone, '
          f'{len(checkpoint["state_dict"])} tensors, {num:,} parameters')
    return 0


if __name__ == '__main__':
    sys.exit(main())
