"""BadVideoMonitorHook: counts summed over processes before printing/acting."""
from __future__ import annotations

import json

import pytest
import torch.multiprocessing as mp
from bad_video_monitor_worker import SKIPS, WORLD, worker
from mmengine.structures import BaseDataElement

from mmcmd.engine.hooks.bad_video_monitor_hook import (
    count_skips,
    sum_over_ranks,
)


def test_count_skips_counts_every_failed_load():
    samples = []
    for count in (0, 2, 1):
        sample = BaseDataElement()
        sample.set_metainfo(dict(skipped_videos=[('a.mp4', 'E: x')] * count))
        samples.append(sample)
    loaded, skipped, pairs = count_skips(samples + [object()])
    assert (loaded, skipped, len(pairs)) == (3 + 3 + 1, 3, 3)


def test_sum_over_ranks_without_a_process_group_is_the_identity():
    assert sum_over_ranks(7, 2) == (7, 2)


@pytest.mark.timeout(120)
def test_two_processes_see_and_act_on_the_summed_counts(tmp_path):
    # rank 0: 5 loads, 1 bad (20%); rank 1: 7 loads, 3 bad (43%);
    # together 12 loads, 4 bad (33%).
    total_skipped = sum(map(sum, SKIPS.values()))
    total_loaded = sum(len(s) + sum(s) for s in SKIPS.values())
    assert (total_loaded, total_skipped) == (12, 4)
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path),
                           [0.4, 0.3]), nprocs=WORLD, join=True)
    results = [json.loads((tmp_path / f'{rank}.json').read_text())
               for rank in range(WORLD)]
    for rank, (lenient, strict) in enumerate(results):
        # 0.4: rank 1 alone would stop, the run as a whole (33%) does not
        assert lenient['error'] is None
        assert (lenient['loaded'], lenient['skipped']) == (12, 4)
        assert lenient['logged'] == 4
        assert (lenient['local_loaded'], lenient['local_skipped']) == (
            len(SKIPS[rank]) + sum(SKIPS[rank]), sum(SKIPS[rank]))
        assert lenient['distinct'] == 4  # bad files over both processes
        # 0.3: rank 0 alone (20%) would go on; both stop on the summed 33%
        assert strict['error'].startswith('4 of 12 video loads failed')
