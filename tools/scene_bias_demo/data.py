"""The demo's data: the biased and unbiased synthetic sets, the probe split
and the list of every query set."""
from __future__ import annotations

import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Sequence, Tuple

from mmcmd.datasets import synthetic

from .plan import (
    SPLITS,
    UNBIASED_OWN_SCENE_PROB,
    UNBIASED_SEED_OFFSET,
    RunPlan,
)


def write_probe_split(data_dir: str, per_class: int,
                      name: str = 'probe_train') -> str:
    """Write ``data_dir/<name>.txt``: the first ``per_class`` lines of each
    class of ``data_dir/train.txt``; returns its stem."""
    counts: Dict[str, int] = {}
    lines = []
    with open(osp.join(data_dir, 'train.txt')) as file:
        for line in file:
            label = line.split()[-1]
            if counts.get(label, 0) < per_class:
                counts[label] = counts.get(label, 0) + 1
                lines.append(line)
    with open(osp.join(data_dir, f'{name}.txt'), 'w') as file:
        file.writelines(lines)
    return name


def write_query_list(root: str, sets: Sequence[Tuple[str, str]],
                     name: str = 'queries.txt') -> str:
    """Write ``root/name``: the annotation lines of every ``(data_dir,
    stem)`` of ``sets`` in order, paths made relative to ``root`` (one
    VideoDataset reads them all); returns its path."""
    lines = []
    for data_dir, stem in sets:
        prefix = osp.relpath(data_dir, root)
        with open(osp.join(data_dir, f'{stem}.txt')) as file:
            lines += [osp.join(prefix, line.lstrip()) for line in file
                      if line.strip()]
    path = osp.join(root, name)
    with open(path, 'w') as file:
        file.writelines(lines)
    return path


def split_records(data_dir: str, split: str) -> List[dict]:
    """The meta.json records of ``split`` in annotation order (class,
    scene and generator parameters of each video)."""
    with open(osp.join(data_dir, 'meta.json')) as file:
        videos = json.load(file)['videos']
    return sorted((v for v in videos if v['split'] == split),
                  key=lambda v: v['index'])


def count_lines(path: str) -> int:
    """Number of non-empty lines of an annotation file."""
    with open(path) as file:
        return sum(1 for line in file if line.strip())


def make_data(path: str, reuse: bool, say: Callable[[str], None],
              at_least: bool = False, **kwargs: Any) -> dict:
    """Generate a data set in ``path`` unless ``reuse`` and it is there
    with the same seed and train videos per class (``at_least``: as many
    or more, for a set only read in part, so that a resumed run with fewer
    methods keeps the bigger set another run made); returns its meta."""
    meta_path = osp.join(path, 'meta.json')
    if reuse and osp.isfile(meta_path):
        with open(meta_path) as file:
            meta = json.load(file)
        have = meta['splits']['train']['num_per_class']
        want = kwargs['num_train_per_class']
        if meta['seed'] == kwargs['seed'] and (
                have == want or (at_least and have > want)):
            say(f'  reusing {path} ({len(meta["videos"])} videos)')
            return meta
    meta = synthetic.generate_dataset(path, progress=False, **kwargs)
    say(f'  {len(meta["videos"])} videos written to {path}')
    return meta


@dataclass
class DataSets:
    """The data of a run.

    Attributes:
        biased: directory of the biased set (train = the gallery,
            test_same, test_swapped).
        unbiased: directory of the unbiased set (own scene 1 in 10).
        counts: query set -> videos, in the order of ``queries.txt``:
            ``test_same``, ``test_swapped``, ``probe_train``,
            ``probe_test``.
    """

    biased: str
    unbiased: str
    counts: Dict[str, int] = field(default_factory=dict)


def prepare_data(run: RunPlan, say: Callable[[str], None]) -> DataSets:
    """Generate (or, resuming, reuse) the biased and unbiased sets, write
    the probe split and the list of every query set (``queries.txt``)."""
    sets = DataSets(osp.join(run.work, 'data'),
                    osp.join(run.work, 'data_unbiased'))
    make_data(sets.biased, run.resume, say, seed=run.seed, **run.data)
    unbiased = dict(run.data, own_scene_prob=UNBIASED_OWN_SCENE_PROB)
    # Without the ceiling only the probe's videos are read: a bigger set
    # made by an earlier run (with the ceiling) is kept, not shrunk.
    probe_only = 'supervised_unbiased' not in run.methods
    if probe_only:
        unbiased['num_train_per_class'] = run.probe_per_class
    make_data(sets.unbiased, run.resume, say, at_least=probe_only,
              seed=run.seed + UNBIASED_SEED_OFFSET, **unbiased)
    write_probe_split(sets.unbiased, run.probe_per_class)
    queries = [(sets.biased, SPLITS['same']),
               (sets.biased, SPLITS['swapped']),
               (sets.unbiased, 'probe_train'),
               (sets.unbiased, 'test_swapped')]
    sets.counts = {key: count_lines(osp.join(folder, f'{stem}.txt'))
                   for key, (folder, stem) in zip(
                       ('test_same', 'test_swapped', 'probe_train',
                        'probe_test'), queries)}
    write_query_list(run.work, queries)
    return sets
