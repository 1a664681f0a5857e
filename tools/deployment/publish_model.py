"""Strip a training checkpoint for release and name it by its SHA-256.

    python tools/deployment/publish_model.py work_dirs/x/epoch_120.pth \\
        checkpoints/cmd_r2plus1d-26_8xb8-120e_ucf101

writes ``checkpoints/cmd_r2plus1d-26_8xb8-120e_ucf101-<8 hex>.pth`` holding
only ``state_dict`` and a small ``meta`` (no optimizer, message hub, param
schedulers or EMA state), as the OpenMMLab model zoo names its files, and
prints that path. The work is :func:`publishing.publish_checkpoint` (the
module next to this script), which ``tools/demo.py --publish`` uses too
(docs/model_zoo.md).

The input is read with ``torch.load(weights_only=True)`` and the allow-list
of what mmengine's CheckpointHook writes (message hub history buffers, numpy
scalars), so every checkpoint of tools/train.py publishes. Exit status 1
with a one-line error: the file does not exist, is not a checkpoint (text,
a video, truncated), holds no tensors, or holds objects that could run code
when unpickled (the message names them).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmcmd.utils.checkpoint import UnsafeCheckpointError

#: tools/, where the ``deployment`` package lives.
TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)
from deployment.publishing import publish_checkpoint  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='output name, without the hash')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Publish; print the final path. 1 with a message on a bad input."""
    args = parse_args(argv)
    try:
        final = publish_checkpoint(args.in_file, args.out_file)
    except (OSError, TypeError, ValueError, UnsafeCheckpointError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(final)
    return 0


if __name__ == '__main__':
    sys.exit(main())
