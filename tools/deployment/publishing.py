"""Publishing to the model zoo: stripped, SHA-256-named checkpoints and
their metafile entries.

Serves two commands: ``tools/deployment/publish_model.py`` (strip a
checkpoint, name it by its SHA-256) and ``tools/demo.py --publish`` (publish
every checkpoint of a finished scene-bias demo and list it with the metrics
the demo measured). Reading and re-testing the zoo is the library's
(:mod:`mmcmd.utils.zoo`, ``tools/analysis/benchmark_regression.py``).

A metafile follows OpenMMLab's layout (``Collections`` / ``Models`` with
``Name``, ``Config``, ``Metadata``, ``Results``, ``Weights``). ``Results``
hold only numbers this code produced with the listed ``Weights``; each
result names the config it was measured with (``Test Config``) and its
``Metrics`` are in percent.
"""
from __future__ import annotations

import copy
import hashlib
import inspect
import io
import json
import os
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import torch

from mmcmd.utils.checkpoint import load_checkpoint_file, unwrap_state_dict
from mmcmd.utils.zoo import (
    git_commit,
    load_metafile,
    machine_description,
    sha256_file,
)

#: meta entries a published checkpoint keeps; everything else goes.
KEPT_META = ('epoch', 'iter', 'mmengine_version', 'mmcmd_version',
             'dataset_meta', 'arch', 'source', 'converted_from')
#: the collection of the scene-bias benchmark's checkpoints.
SYNTHETIC_COLLECTION = dict(
    Name='SceneBiasBenchmark', README='docs/scene_bias.md',
    Metadata=dict(Description='checkpoints of tools/demo.py on the '
                  'synthetic scene-bias benchmark'))
#: demo summary split -> (Result Dataset, retrieval config suffix).
DEMO_SPLITS = {'same': ('synthetic test_same', '-test-same.py'),
               'swapped': ('synthetic test_swapped', '-test-swapped.py')}


# ---------------------------------------------------------- checkpoints
def strip_checkpoint(checkpoint: object, path: str) -> dict:
    """``{'meta': <kept entries>, 'state_dict': <CPU tensors>}``: no
    optimizer, message hub, schedulers or EMA state."""
    state = unwrap_state_dict(checkpoint, path)
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    meta = {k: v for k, v in (meta or {}).items() if k in KEPT_META}
    return dict(meta=meta, state_dict={k: v.detach().cpu().clone()
                                       for k, v in state.items()})


def publish_checkpoint(src: str, out: str) -> str:
    """Save ``src`` stripped as ``OUT-<sha256[:8]>.pth``; returns its path.

    The bytes are serialised in memory first, so they (and the hash) do not
    depend on the output name; the file appears atomically.
    """
    stripped = strip_checkpoint(load_checkpoint_file(src), src)
    buffer = io.BytesIO()
    torch.save(stripped, buffer)
    data = buffer.getvalue()
    stem = out[:-len('.pth')] if out.endswith('.pth') else out
    os.makedirs(osp.dirname(osp.abspath(stem)), exist_ok=True)
    final = f'{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    with open(final + '.part', 'wb') as file:
        file.write(data)
    os.replace(final + '.part', final)
    return final


# ------------------------------------------------------------ metafiles
def update_metafile(path: str, models: Sequence[Mapping],
                    collection: Optional[Mapping] = None) -> dict:
    """Write ``models`` into the metafile at ``path``: an entry with the
    same ``Name`` is replaced, other entries are kept in order, new ones
    appended; ``collection`` is added when absent. The file's leading
    comment lines are kept. Returns the written dict."""
    import yaml
    data: dict = {}
    header: List[str] = []
    if osp.isfile(path):
        data = load_metafile(path)
        with open(path) as file:
            for line in file:
                if not line.startswith('#'):
                    break
                header.append(line)
    if collection:
        collections = data.setdefault('Collections', [])
        if all(c.get('Name') != collection['Name'] for c in collections):
            collections.append(dict(collection))
    listed = data.setdefault('Models', [])
    for model in models:
        model = {k: v for k, v in model.items() if not k.startswith('_')}
        names = [m.get('Name') for m in listed]
        if model['Name'] in names:
            listed[names.index(model['Name'])] = model
        else:
            listed.append(model)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path + '.part', 'w') as file:
        file.writelines(header)
        yaml.safe_dump(data, file, sort_keys=False, width=78)
    os.replace(path + '.part', path)
    return data


# ------------------------------------------------------ the demo's zoo
def evaluation_data(summary: Mapping, generator: Callable
                    ) -> Dict[str, Any]:
    """Every keyword of ``generator`` (the benchmark's
    ``generate_dataset``) that made the demo's biased data (the gallery and
    the queries of every method), defaults filled in, so the data can be
    generated again."""
    params = inspect.signature(generator).parameters
    data = {name: p.default for name, p in params.items()
            if p.default is not inspect.Parameter.empty
            and name not in ('workers', 'progress')}
    data.update({k: v for k, v in (summary.get('data') or {}).items()
                 if k in params})
    data['seed'] = int(summary['seed'])
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in data.items()}


def retrieval_configs(embedding_config: str) -> Dict[str, str]:
    """Summary split -> retrieval config, from the demo's embedding config
    (``...-test-same.py``) and its ``-test-swapped`` sibling."""
    stem = embedding_config
    for _, suffix in DEMO_SPLITS.values():
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
    return {key: stem + suffix for key, (_, suffix) in DEMO_SPLITS.items()}


def demo_model_name(method: str, summary: Mapping) -> str:
    """``<training config stem>_seed<N>``; a method without a training
    config (random init) gets ``<method>_<embedding config stem without
    its first word and split>_seed<N>``."""
    config = (summary.get('configs') or {}).get(method)
    if config:
        stem = osp.splitext(osp.basename(config))[0]
    else:
        embed = osp.basename(retrieval_configs(
            summary['embedding_config'])['same'])
        embed = embed[:-len(DEMO_SPLITS['same'][1])]
        stem = f"{method}_{embed.split('_', 1)[-1]}"
    return f"{stem}_seed{summary['seed']}"


def publish_demo(work_dir: str, out_dir: str, repo: str, command: str,
                 generator: Callable, metafile: Optional[str] = None,
                 methods: Optional[Sequence[str]] = None) -> List[dict]:
    """Publish the checkpoints of a finished scene-bias demo.

    Every method of ``work_dir/summary.json`` (or ``methods``) that has a
    checkpoint is stripped and copied to ``out_dir`` under a
    SHA-256-suffixed name and listed with the retrieval metrics the demo
    measured with it, in ``out_dir/metafile.yml`` and, when given, in
    ``metafile`` (entries with the same Name are replaced).

    Args:
        work_dir: the demo's output directory.
        out_dir: the checkpoint root: ``Weights`` are relative to it.
        repo: the repository root (config paths, commit).
        command: the command that produced the numbers.
        generator: the data generator the demo used
            (``mmcmd.datasets.synthetic.generate_dataset``).
        metafile: a second metafile to update (the committed one).
        methods: the methods to publish; default every one.

    Returns:
        The model entries written.
    """
    with open(osp.join(work_dir, 'summary.json')) as file:
        summary = json.load(file)
    tests = retrieval_configs(summary['embedding_config'])
    data = evaluation_data(summary, generator)
    common = dict(Command=command, Commit=git_commit(repo),
                  Machine=machine_description(),
                  Date=time.strftime('%Y-%m-%d', time.gmtime()),
                  Seed=int(summary['seed']))
    entries = []
    for method in methods or list(summary['methods']):
        checkpoint = (summary.get('checkpoints') or {}).get(method)
        if not checkpoint:
            continue
        name = demo_model_name(method, summary)
        final = publish_checkpoint(checkpoint, osp.join(out_dir, name))
        config = (summary.get('configs') or {}).get(
            method, summary['embedding_config'])
        training = summary['methods'][method].get('training') or {}
        metadata = dict(
            Method=method, **common,
            Iterations=training.get('iterations', 0),
            **{'Batch Size': summary.get('batch_size'),
               'Quick': bool(summary.get('quick')),
               'Evaluation Data': copy.deepcopy(data),
               'SHA256': sha256_file(final)})
        results = [dict(Task='Video Retrieval', Dataset=dataset,
                        **{'Test Config': tests[key]},
                        Metrics={k: round(100 * float(v), 2) for k, v in
                                 summary['methods'][method][key].items()
                                 if k.startswith('R@')})
                   for key, (dataset, _) in DEMO_SPLITS.items()]
        entries.append({'Name': name, 'In Collection':
                        SYNTHETIC_COLLECTION['Name'], 'Config': config,
                        'Metadata': metadata, 'Results': results,
                        'Weights': osp.relpath(final, out_dir)})
    for path in [osp.join(out_dir, 'metafile.yml')] + (
            [metafile] if metafile else []):
        update_metafile(path, entries, SYNTHETIC_COLLECTION)
    return entries
