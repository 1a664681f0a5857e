"""Many videos through a config's test pipeline, for batched embedding."""
from __future__ import annotations

from typing import List, Optional, Sequence

from mmengine.config import Config
from torch.utils.data import Dataset

from .embedding import build_test_pipeline, pipeline_input


class VideoPipelineDataset(Dataset):
    """The ``test_pipeline`` of ``cfg`` applied to video files.

    Item ``i``: ``dict(index, path, sample, error)``: ``sample`` is the
    pipeline output (what :func:`mmcmd.apis.embed_samples` takes) or None
    when the video could not be read, ``error`` then says why. A bad file
    is reported, never raised.

    Args:
        paths: video files.
        cfg: config with ``test_pipeline``.
    """

    def __init__(self, paths: Sequence[str], cfg: Config) -> None:
        self.paths = list(paths)
        self.pipeline_cfg = Config(dict(test_pipeline=cfg.test_pipeline))
        self._pipeline = None  # built in the process that uses it

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        if self._pipeline is None:
            self._pipeline = build_test_pipeline(self.pipeline_cfg)
        path = self.paths[index]
        try:
            sample = self._pipeline(pipeline_input(path))
            if sample is None:
                raise ValueError('the test pipeline dropped the video')
            error: Optional[str] = None
        except Exception as exc:  # any bad file is reported, never fatal
            sample, error = None, f'{type(exc).__name__}: {exc}'
        return dict(index=index, path=path, sample=sample, error=error)


def collate_videos(items: List[dict]) -> List[dict]:
    """Keep the items as a list (failed ones have no sample to stack)."""
    return items
