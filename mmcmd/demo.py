"""Pieces of the scene-bias demo (tools/demo.py): a random-init checkpoint,
reading retrieval results, a linear probe on frozen embeddings, summaries.
"""
from __future__ import annotations

import glob
import io
import json
import os
import pickle
import time
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
import torch

#: method keys of the summary, in display order, and their labels.
METHODS: Dict[str, str] = {'cmd': 'CMD', 'rgb_contrast': 'RGB contrast',
                           'random': 'random init'}
#: evaluation splits: summary key -> annotation file stem.
SPLITS: Dict[str, str] = {'same': 'test_same', 'swapped': 'test_swapped'}
METRICS: Tuple[str, ...] = ('R@1', 'R@5', 'linear')


def save_initial_checkpoint(config_path: str, out_path: str,
                            seed: int) -> str:
    """Save the state dict of the model of ``config_path`` right after its
    ``init_weights()`` under ``seed`` (the untrained baseline); returns the
    path."""
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed
    from mmaction.registry import MODELS
    cfg = Config.fromfile(config_path)
    # A quiet current logger: init_weights logs every parameter at INFO.
    MMLogger.get_instance(f'init_checkpoint_{time.time_ns()}',
                          log_level='WARNING')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'seed': int(seed), 'init': 'init_weights'}},
               out_path)
    return out_path


def require_backbone_weights(checkpoint: Mapping, reference: Mapping) -> None:
    """Raise unless ``checkpoint['state_dict']`` holds every ``backbone.*``
    tensor of ``reference`` (a state dict) with the same shape."""
    state = checkpoint.get('state_dict', checkpoint)
    missing = [k for k, v in reference.items() if k.startswith('backbone.')
               and (k not in state or tuple(state[k].shape) != tuple(v.shape))]
    if missing:
        raise KeyError(f'checkpoint lacks {len(missing)} backbone tensors '
                       f'of the evaluation model (first: {missing[0]}); '
                       'pretrain with the same clip_backbone as the '
                       'retrieval config.')


def _load_storage_weights_only(data: bytes):
    """``torch.storage._load_from_bytes`` with ``weights_only=True``."""
    return torch.load(io.BytesIO(data), weights_only=True)


class _DumpUnpickler(pickle.Unpickler):
    """Unpickler for prediction dumps: tensors, arrays, plain containers.

    Anything else (which could run code) is refused; nested tensor storages
    are read with ``torch.load(weights_only=True)``.
    """

    ALLOWED = {('_codecs', 'encode'), ('collections', 'OrderedDict'),
               ('torch._utils', '_rebuild_tensor_v2'),
               ('numpy.core.multiarray', '_reconstruct'),
               ('numpy._core.multiarray', '_reconstruct'),
               ('numpy.core.multiarray', 'scalar'),
               ('numpy._core.multiarray', 'scalar'),
               ('numpy', 'ndarray'), ('numpy', 'dtype')}

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _load_storage_weights_only
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f'prediction dump holds {module}.{name}; only tensors, '
                'arrays and plain containers are read')
        return super().find_class(module, name)


def load_dumped_embeddings(path: str) -> Dict[str, np.ndarray]:
    """Read a ``tools/test.py --dump`` file of a retrieval run.

    Returns float64 ``gallery`` (G, C) / ``query`` (Q, C) embeddings and
    int ``gallery_labels`` / ``query_labels``, in dataset order.
    """
    with open(path, 'rb') as file:
        rows = _DumpUnpickler(file).load()
    out: Dict[str, List] = {'gallery': [], 'query': [],
                            'gallery_labels': [], 'query_labels': []}
    for row in rows:
        role = row.get('retrieval_role')
        if role not in ('gallery', 'query') or 'embedding' not in row:
            raise KeyError(f'{path}: rows need embedding and retrieval_role '
                           '(a VideoRetrievalDataset run with VideoEmbedder)')
        label = row['gt_label']
        out[role].append(np.asarray(row['embedding'], np.float64))
        out[f'{role}_labels'].append(int(np.asarray(label).reshape(-1)[0]))
    return {key: np.asarray(value) for key, value in out.items()}


def linear_probe_accuracy(train_x: np.ndarray, train_y: np.ndarray,
                          test_x: np.ndarray, test_y: np.ndarray,
                          weight_decay: float = 1e-3, max_iter: int = 300
                          ) -> float:
    """Top-1 accuracy (0..1) of multinomial logistic regression fitted on
    frozen ``train_x`` (N, C) and applied to ``test_x``.

    Features are standardised with the train mean and std; the loss is the
    mean cross-entropy plus ``weight_decay * ||W||^2`` (bias free), minimised
    full-batch with L-BFGS in float64 from zeros (deterministic).
    """
    x = torch.as_tensor(train_x, dtype=torch.float64)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    x = (x - mean) / std
    y = torch.as_tensor(train_y, dtype=torch.long)
    classes = int(max(int(y.max()), int(np.max(test_y))) + 1)
    weight = torch.zeros(x.shape[1], classes, dtype=torch.float64,
                         requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter,
                                  line_search_fn='strong_wolfe')

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight + bias, y)
        loss = loss + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        test = (torch.as_tensor(test_x, dtype=torch.float64) - mean) / std
        pred = (test @ weight + bias).argmax(1).numpy()
    return float(np.mean(pred == np.asarray(test_y)))


def _metric_files(work_dir: str) -> List[str]:
    """The ``<timestamp>/<timestamp>.json`` metric files that mmengine's
    logger writes for each ``tools/test.py`` run in ``work_dir``, oldest
    first."""
    return sorted(glob.glob(os.path.join(work_dir, '*', '*.json')),
                  key=os.path.getmtime)


def read_test_metrics(work_dir: str) -> Dict[str, float]:
    """Metrics of the newest ``tools/test.py`` run in ``work_dir``."""
    files = _metric_files(work_dir)
    if not files:
        raise FileNotFoundError(f'no test metrics (*/*.json) under '
                                f'{work_dir}; did tools/test.py finish?')
    with open(files[-1]) as file:
        return {k: float(v) for k, v in json.load(file).items()
                if isinstance(v, (int, float))}


def evaluation_done(work_dir: str, dump: str, checkpoint: str) -> bool:
    """Whether a ``tools/test.py`` run of ``checkpoint`` finished: its metrics
    in ``work_dir`` and its embeddings in ``dump``, both written after the
    checkpoint (a resumed pretraining that saved a newer one invalidates
    them)."""
    files = _metric_files(work_dir)
    if not files or not os.path.isfile(dump):
        return False
    written = min(os.path.getmtime(dump), os.path.getmtime(files[-1]))
    return written >= os.path.getmtime(checkpoint)


def gaps(methods: Mapping[str, Mapping[str, Mapping[str, float]]]
         ) -> Dict[str, Dict[str, float]]:
    """Same-minus-swapped difference of every metric of every method."""
    return {name: {metric: result['same'][metric] - result['swapped'][metric]
                   for metric in result['same']}
            for name, result in methods.items()}


def format_table(methods: Mapping[str, Mapping[str, Mapping[str, float]]],
                 markdown: bool = False) -> str:
    """A table of R@1 / R@5 / linear accuracy on both test splits (percent),
    plus the same-minus-swapped gaps of R@1 and the linear probe."""
    head = ['method'] + [f'{m} {s}' for s in SPLITS for m in METRICS] + [
        'gap R@1', 'gap linear']
    gap = gaps(methods)
    rows = []
    for name, result in methods.items():
        cells = [METHODS.get(name, name)]
        cells += [f'{100 * result[s][m]:.1f}' for s in SPLITS
                  for m in METRICS]
        cells += [f'{100 * gap[name]["R@1"]:+.1f}',
                  f'{100 * gap[name]["linear"]:+.1f}']
        rows.append(cells)
    if markdown:
        lines = ['| ' + ' | '.join(head) + ' |',
                 '|' + '|'.join(['---'] + ['---:'] * (len(head) - 1)) + '|']
        lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
        return '\n'.join(lines)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = '  '.join(f'{{:<{w}}}' if i == 0 else f'{{:>{w}}}'
                    for i, w in enumerate(widths))
    return '\n'.join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


def plot_summary(methods: Mapping[str, Mapping[str, Mapping[str, float]]],
                 path: str, title: str = '') -> str:
    """Bar chart (PNG) of R@1 and linear-probe accuracy per method, split."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(methods)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    width = 0.38
    for ax, metric in zip(axes, ('R@1', 'linear')):
        xs = np.arange(len(names))
        for offset, split, colour in ((-width / 2, 'same', '#4c72b0'),
                                      (width / 2, 'swapped', '#dd8452')):
            values = [100 * methods[n][split][metric] for n in names]
            bars = ax.bar(xs + offset, values, width, color=colour,
                          label=f'test_{split}')
            ax.bar_label(bars, fmt='%.0f', fontsize=8)
        ax.axhline(10, color='grey', lw=0.8, ls=':')  # chance: 10 classes
        ax.set_xticks(xs, [METHODS.get(n, n) for n in names])
        ax.set_title('retrieval R@1' if metric == 'R@1' else
                     'linear probe top-1')
        ax.set_ylim(0, 105)
    axes[0].set_ylabel('percent')
    axes[0].legend(loc='upper right', fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_summary(out_dir: str, methods: Mapping, info: Mapping) -> Dict[
        str, str]:
    """Write ``summary.json``, ``summary.md`` and ``summary.png`` into
    ``out_dir``; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {key: os.path.join(out_dir, f'summary.{key}')
             for key in ('json', 'md', 'png')}
    summary = dict(methods=methods, gaps=gaps(methods), **info)
    with open(paths['json'], 'w') as file:
        json.dump(summary, file, indent=2)
    lines = ['# Scene-bias demo', '',
             'Values in percent; gap = test_same minus test_swapped '
             '(smaller means less scene bias).', '',
             format_table(methods, markdown=True), '']
    lines += [f'- {key}: {value}' for key, value in info.items()
              if not isinstance(value, (dict, list))]
    with open(paths['md'], 'w') as file:
        file.write('\n'.join(lines) + '\n')
    plot_summary(methods, paths['png'],
                 title=f"scene-bias demo, seed {info.get('seed', '?')}")
    return paths


def check_summary(summary: Mapping, methods: Sequence[str] = tuple(METHODS)
                  ) -> None:
    """Raise ValueError unless ``summary`` has every method, split and metric
    with a value in [0, 1]."""
    for name in methods:
        for split in SPLITS:
            for metric in METRICS:
                value = summary['methods'][name][split][metric]
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f'{name}/{split}/{metric} = {value} '
                                     'is outside [0, 1]')
