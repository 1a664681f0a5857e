"""Gallery + query videos in one dataset, for retrieval with tools/test.py."""
from __future__ import annotations

from typing import Any, Dict, List

from mmaction.registry import DATASETS
from mmengine.dataset import BaseDataset, ConcatDataset


@DATASETS.register_module()
class VideoRetrievalDataset(ConcatDataset):
    """The gallery videos, then the query videos, each tagged with its role.

    Every sample's data sample gets the meta field ``retrieval_role``
    (``'gallery'`` or ``'query'``), which
    :class:`mmcmd.evaluation.VideoRetrievalMetric` uses to split the features.
    Used with mmengine's default test loop and a non-shuffling sampler, the
    features of all ranks come back in dataset order, so 1 and N processes
    give identical results.

    Args:
        gallery: dataset config of the gallery (the train split).
        query: dataset config of the queries (the test split).
        lazy_init: defer loading the annotation lists until first use, as
            mmengine's ``ConcatDataset``.
    """

    ROLES = ('gallery', 'query')

    def __init__(self, gallery: Dict[str, Any], query: Dict[str, Any],
                 lazy_init: bool = False) -> None:
        parts: List[BaseDataset] = [
            DATASETS.build(cfg) if isinstance(cfg, dict) else cfg
            for cfg in (gallery, query)]
        super().__init__(parts, lazy_init=lazy_init)

    @property
    def num_gallery(self) -> int:
        """Number of gallery videos (the first samples of the dataset)."""
        return len(self.datasets[0])

    def __getitem__(self, idx: int) -> dict:
        dataset_idx, sample_idx = self._get_ori_dataset_idx(idx)
        data = self.datasets[dataset_idx][sample_idx]
        data['data_samples'].set_metainfo(
            dict(retrieval_role=self.ROLES[dataset_idx]))
        return data
