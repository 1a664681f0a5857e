"""A transform that kills the dataloader worker running it (fault tests)."""
import os
import signal

from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class KillWorkerProcess(BaseTransform):
    """SIGKILL the current process: a dataloader worker dying mid-epoch."""

    def transform(self, results: dict) -> dict:
        os.kill(os.getpid(), signal.SIGKILL)
        return results
