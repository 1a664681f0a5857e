"""Strip a training checkpoint for release and name it by its SHA-256.

    python tools/deployment/publish_model.py work_dirs/x/epoch_120.pth \
        checkpoints/cmd_r2plus1d-26_8xb8-120e_ucf101

writes ``checkpoints/cmd_r2plus1d-26_8xb8-120e_ucf101-<8 hex>.pth`` holding
only ``state_dict`` and a small ``meta`` (no optimizer, message hub, param
schedulers or EMA state), as the OpenMMLab model zoo names its files, and
prints that path.
"""
import argparse
import hashlib
import io
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

from mmcmd.utils.checkpoint import (
    UnsafeCheckpointError,
    load_checkpoint_file,
    unwrap_state_dict,
)

#: meta entries kept; everything else (hook messages, seeds, ...) goes.
KEPT_META = ('epoch', 'iter', 'mmengine_version', 'mmcmd_version',
             'dataset_meta', 'arch', 'source', 'converted_from')


def strip_checkpoint(checkpoint: object, path: str) -> dict:
    """``{'meta': <kept entries>, 'state_dict': <CPU tensors>}``."""
    state = unwrap_state_dict(checkpoint, path)
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    meta = {k: v for k, v in (meta or {}).items() if k in KEPT_META}
    return dict(meta=meta,
                state_dict={k: v.detach().cpu().clone()
                            for k, v in state.items()})


def publish(src: str, out: str) -> str:
    """Save the stripped checkpoint as ``OUT-<sha256[:8]>.pth``; its path.

    The bytes are serialised in memory first, so they (and the hash) do not
    depend on the output name.
    """
    stripped = strip_checkpoint(load_checkpoint_file(src), src)
    buffer = io.BytesIO()
    torch.save(stripped, buffer)
    data = buffer.getvalue()
    stem = out[:-len('.pth')] if out.endswith('.pth') else out
    os.makedirs(osp.dirname(osp.abspath(stem)), exist_ok=True)
    final = f'{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    tmp = final + '.part'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, final)
    return final


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='output name, without the hash')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Publish; print the final path. 1 with a message on a bad input."""
    args = parse_args(argv)
    try:
        final = publish(args.in_file, args.out_file)
    except (OSError, TypeError, UnsafeCheckpointError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(final)
    return 0


if __name__ == '__main__':
    sys.exit(main())
