"""WeightsOnlyDumpResults: DumpResults' rows, read back weights-only."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from mmcmd.evaluation import WeightsOnlyDumpResults, load_dumped_results
from mmcmd.utils.checkpoint import NotACheckpointError, UnsafeCheckpointError


def test_rows_round_trip_through_a_weights_only_load(tmp_path):
    path = str(tmp_path / 'sub' / 'embeddings.pkl')
    metric = WeightsOnlyDumpResults(out_file_path=path)
    rows = [dict(embedding=torch.randn(8), gt_label=torch.tensor([i]),
                 retrieval_role='query', img_shape=(32, 32),
                 frame_inds=np.arange(4)) for i in range(3)]
    metric.process({}, rows[:2])
    metric.process({}, rows[2:])
    assert metric.evaluate(3) == {}
    loaded = load_dumped_results(path)
    assert len(loaded) == 3 and not os.path.exists(path + '.part')
    for got, want in zip(loaded, rows):
        assert torch.equal(got['embedding'], want['embedding'])
        assert got['retrieval_role'] == 'query'
        assert got['img_shape'] == (32, 32)
        np.testing.assert_array_equal(got['frame_inds'], np.arange(4))
    with pytest.raises(ValueError, match='pkl'):
        WeightsOnlyDumpResults(out_file_path=str(tmp_path / 'x.json'))


@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_a_crafted_pickle_is_refused_not_run(tmp_path, protocol):
    marker = tmp_path / 'ran'

    class Evil:
        def __reduce__(self):
            return (os.system, (f'touch {marker}',))
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([{'embedding': Evil()}], protocol))
    with pytest.raises((UnsafeCheckpointError, NotACheckpointError)) as info:
        load_dumped_results(str(path))
    if protocol == 2:  # read up to the global, which is named
        assert isinstance(info.value, UnsafeCheckpointError)
        assert 'system' in str(info.value)
    assert not marker.exists()
