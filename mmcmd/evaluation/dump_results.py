"""Prediction dumps that read back with ``torch.load(weights_only=True)``.

mmengine's ``DumpResults`` writes a plain pickle, which only an unpickler
trusting the file can read. :class:`WeightsOnlyDumpResults` writes the same
rows (dicts of tensors, numbers, strings, tuples) with ``torch.save``, so
that :func:`load_dumped_results` reads them through the project's one
weights-only loader (:func:`mmcmd.utils.checkpoint.load_checkpoint_file`),
which refuses a crafted file instead of running its code.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import List

import torch
from mmaction.registry import METRICS
from mmengine.evaluator import DumpResults
from mmengine.logging import print_log


@METRICS.register_module()
class WeightsOnlyDumpResults(DumpResults):
    """``DumpResults`` (same arguments, same rows) saved with
    ``torch.save``; read the file with :func:`load_dumped_results`.

    Args:
        out_file_path: the output file; must end with ``.pkl`` or
            ``.pickle`` (as for ``DumpResults``).
        collect_device: ``'cpu'`` or ``'gpu'``, where the ranks' rows are
            gathered.
        collect_dir: directory for gathering on the CPU (None: a
            temporary one).
    """

    def compute_metrics(self, results: list) -> dict:
        """Write ``results`` to ``out_file_path`` (atomically)."""
        os.makedirs(osp.dirname(osp.abspath(self.out_file_path)),
                    exist_ok=True)
        torch.save(list(results), self.out_file_path + '.part')
        os.replace(self.out_file_path + '.part', self.out_file_path)
        print_log(f'Results has been saved to {self.out_file_path}.',
                  logger='current')
        return {}


def load_dumped_results(path: str) -> List[dict]:
    """The rows a :class:`WeightsOnlyDumpResults` wrote, loaded
    weights-only.

    Raises:
        mmcmd.utils.checkpoint.UnsafeCheckpointError: the file holds
            objects that could run code (a crafted pickle).
        mmcmd.utils.checkpoint.NotACheckpointError: the file is not a
            torch.save file.
    """
    from mmcmd.utils.checkpoint import load_checkpoint_file
    rows = load_checkpoint_file(path)
    if not isinstance(rows, list):
        raise TypeError(f'{path}: a list of prediction rows expected, got '
                        f'{type(rows).__name__}')
    return rows
