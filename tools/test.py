"""Thin wrapper: `python tools/test.py --help` (same as `mmcmd-test`)."""
import os.path as osp
import sys

try:
    import mmcmd  # noqa: F401
except ImportError:  # running from a checkout without pip install
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmcmd.cli.test import cli  # noqa: E402

if __name__ == '__main__':
    cli()
