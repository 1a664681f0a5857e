"""The demo's report: gaps, verdicts, the table, the pictures and the
summary files."""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from mmcmd.datasets import synthetic

from .data import DataSets, count_lines, split_records
from .measure import load_dumped_embeddings, split_queries
from .plan import (
    CEILING,
    CONFIGS,
    EMBED_CONFIG,
    LABELS,
    METRICS,
    QUICK_NOTE,
    REPO,
    SPLITS,
    SUPERVISED,
    TRAP_SAME,
    TRAP_SWAPPED,
    UNBIASED_OWN_SCENE_PROB,
    UNBIASED_SEED_OFFSET,
    RunPlan,
    config_of,
)


def gaps(methods: Mapping[str, Mapping[str, Any]]
         ) -> Dict[str, Dict[str, float]]:
    """Same-minus-swapped difference of every metric of every method."""
    return {name: {metric: result['same'][metric] - result['swapped'][metric]
                   for metric in METRICS}
            for name, result in methods.items()}


def verdicts(methods: Mapping[str, Mapping[str, Any]],
             num_queries: int = 100) -> Dict[str, Any]:
    """What the table shows, as data.

    ``self_supervised.<name>``: whether it beats random init and the RGB
    baseline on test_swapped, by R@1 and by the unbiased probe: higher by
    more than two standard errors of the difference of two accuracies on
    ``num_queries`` queries each (about 9-14 points at 100 queries), so a
    difference within the noise of one seed is not a win; None where a
    reference did not run. ``ceiling``: the
    supervised-unbiased classifier on test_swapped (unseen, scene
    independent of the class) and whether it reaches 90 %. ``trap``:
    whether the supervised-biased model scores >= 80 % on test_same and
    <= 30 % on test_swapped, and by which read-out (classifier, else
    linear probe).
    """
    def beats(name: str, other: str, key: str) -> Optional[bool]:
        if other not in methods or other == name:
            return None
        mine, theirs = methods[name], methods[other]
        if key == 'R@1':
            a, b = mine['swapped']['R@1'], theirs['swapped']['R@1']
        else:
            a, b = mine['unbiased_probe'], theirs['unbiased_probe']
        error = math.sqrt((a * (1 - a) + b * (1 - b)) / num_queries)
        return bool(a - b > 2 * max(error, 1 / num_queries))

    out: Dict[str, Any] = {'self_supervised': {},
                           'num_queries': int(num_queries)}
    for name in methods:
        if name in SUPERVISED or name == 'random':
            continue
        out['self_supervised'][name] = {
            f'beats_{other}_{label}': beats(name, other, key)
            for other in ('random', 'rgb_contrast')
            for key, label in (('R@1', 'R@1'), ('probe', 'unbiased_probe'))}
    if 'supervised_unbiased' in methods:
        value = methods['supervised_unbiased']['classifier']['swapped']
        out['ceiling'] = dict(readout='classifier on test_swapped',
                              value=value, reached=value >= CEILING)
    if 'supervised_biased' in methods:
        result = methods['supervised_biased']
        trap = dict(shown=False, readout=None,
                    classifier=result['classifier'],
                    linear={k: result[k]['linear'] for k in SPLITS})
        for readout in ('classifier', 'linear'):
            same, swapped = trap[readout]['same'], trap[readout]['swapped']
            if same >= TRAP_SAME and swapped <= TRAP_SWAPPED:
                trap.update(shown=True, readout=readout)
                break
        out['trap'] = trap
    return out


def verdict_lines(found: Mapping[str, Any]) -> List[str]:
    """The verdicts as sentences (percent)."""
    def word(value: Optional[bool]) -> str:
        return {True: 'yes', False: 'no', None: 'n/a'}[value]

    lines = []
    for name, result in found['self_supervised'].items():
        parts = []
        for other in ('random', 'rgb_contrast'):
            if result[f'beats_{other}_R@1'] is None:
                continue
            parts.append(f"beats {LABELS[other]} on test_swapped: R@1 "
                         f"{word(result[f'beats_{other}_R@1'])}, unbiased "
                         f"probe {word(result[f'beats_{other}_unbiased_probe'])}")
        lines.append(f"{LABELS.get(name, name)}: " + ('; '.join(parts)
                                                    or 'no reference ran'))
    if found['self_supervised']:
        lines.append(
            "'yes' = higher by more than two standard errors of "
            f"{found.get('num_queries', 100)} queries per split (one seed); "
            "a smaller difference is noise")
    if 'ceiling' in found:
        ceiling = found['ceiling']
        lines.append(f"ceiling (supervised unbiased, {ceiling['readout']}): "
                     f"{100 * ceiling['value']:.1f} % -> "
                     f"{'reached' if ceiling['reached'] else 'NOT reached'}"
                     f' (>= {100 * CEILING:.0f} %)')
    if 'trap' in found:
        trap = found['trap']
        shown = (f"shown by its {trap['readout']}" if trap['shown']
                 else 'NOT shown by its classifier or linear probe')
        cls, lin = trap['classifier'], trap['linear']
        lines.append(
            f'trap (supervised biased, >= {100 * TRAP_SAME:.0f} % same and '
            f'<= {100 * TRAP_SWAPPED:.0f} % swapped): {shown} (classifier '
            f"{100 * cls['same']:.1f} / {100 * cls['swapped']:.1f}, linear "
            f"{100 * lin['same']:.1f} / {100 * lin['swapped']:.1f})")
    return lines


def format_table(methods: Mapping[str, Mapping[str, Any]],
                 markdown: bool = False) -> str:
    """A table (percent) of R@1 / R@5 / linear probe on both test splits,
    the unbiased probe, the classifier of the supervised methods and the
    same-minus-swapped gap of R@1."""
    head = ['method'] + [f'{m} {s}' for s in SPLITS for m in METRICS] + [
        'unbiased probe', 'classifier same', 'classifier swapped', 'gap R@1']
    gap = gaps(methods)
    rows = []
    for name, result in methods.items():
        cells = [LABELS.get(name, name)]
        cells += [f'{100 * result[s][m]:.1f}' for s in SPLITS
                  for m in METRICS]
        cells.append(f"{100 * result['unbiased_probe']:.1f}")
        cls = result.get('classifier')
        cells += ([f"{100 * cls[s]:.1f}" for s in SPLITS] if cls
                  else ['-', '-'])
        cells.append(f'{100 * gap[name]["R@1"]:+.1f}')
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


def plot_summary(methods: Mapping[str, Mapping[str, Any]], path: str,
                 title: str = '') -> str:
    """Bar chart (PNG): R@1 and linear probe per method and split, and the
    unbiased probe."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(methods)
    xs = np.arange(len(names))
    fig, axes = plt.subplots(1, 3, figsize=(4 + 2.4 * len(names), 3.8),
                             sharey=True)
    width = 0.38
    for ax, metric in zip(axes[:2], ('R@1', 'linear')):
        for offset, split, colour in ((-width / 2, 'same', '#4c72b0'),
                                      (width / 2, 'swapped', '#dd8452')):
            values = [100 * methods[n][split][metric] for n in names]
            bars = ax.bar(xs + offset, values, width, color=colour,
                          label=f'test_{split}')
            ax.bar_label(bars, fmt='%.0f', fontsize=7)
        ax.set_title('retrieval R@1' if metric == 'R@1' else
                     'linear probe top-1 (fit on train)')
    bars = axes[2].bar(xs, [100 * methods[n]['unbiased_probe']
                            for n in names], 0.6, color='#55a868')
    axes[2].bar_label(bars, fmt='%.0f', fontsize=7)
    axes[2].set_title('probe fit on unbiased videos')
    for ax in axes:
        ax.axhline(10, color='grey', lw=0.8, ls=':')  # chance: 10 classes
        ax.set_xticks(xs, [LABELS.get(n, n).replace(' ', '\n')
                           for n in names], fontsize=7)
        ax.set_ylim(0, 105)
    axes[0].set_ylabel('percent')
    axes[0].legend(loc='upper right', fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def project_2d(embeddings: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE map (scikit-learn) of (N, C) embeddings, PCA-initialised;
    perplexity 30, or less for small N."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits
    x = np.asarray(embeddings, np.float64)
    x = (x - x.mean(0)) / np.maximum(x.std(0), 1e-8)
    perplexity = float(min(30.0, max(1.0, (len(x) - 1) / 3)))
    with threadpool_limits(limits=1):  # small problem, shared cores
        return TSNE(n_components=2, perplexity=perplexity, init='pca',
                    random_state=seed).fit_transform(x)


def plot_embedding_maps(maps: Mapping[str, Mapping[str, np.ndarray]],
                        path: str, title: str = '') -> str:
    """One row per method: its test_swapped map coloured by motion class
    (left) and by scene (right). ``maps[name]`` holds ``xy`` (N, 2),
    ``labels`` and ``scenes`` (N,)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(maps)
    height = 3.2 * len(names) + 1.4  # inches; 1.4 for the legends
    fig, axes = plt.subplots(len(names), 2, figsize=(7.5, height),
                             squeeze=False)
    cmap = plt.get_cmap('tab10')
    for row, name in zip(axes, names):
        item = maps[name]
        for ax, key, what in ((row[0], 'labels', 'motion class'),
                              (row[1], 'scenes', 'scene')):
            colours = cmap(np.asarray(item[key]) % 10)
            ax.scatter(item['xy'][:, 0], item['xy'][:, 1], c=colours, s=14,
                       linewidths=0)
            ax.set_title(f'{LABELS.get(name, name)}: by {what}', fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    handles = [plt.Line2D([], [], marker='o', ls='', color=cmap(i),
                          markersize=5) for i in range(10)]
    for names_, where, what in ((synthetic.CLASSES, 'lower left',
                                 'motion class'),
                                (synthetic.SCENES, 'lower right', 'scene')):
        fig.legend(handles, [n.replace('_', ' ') for n in names_],
                   loc=where, ncol=2, fontsize=6, title=what,
                   title_fontsize=7, frameon=False)
    fig.suptitle(title or 'test_swapped embeddings (t-SNE)', fontsize=10)
    fig.tight_layout(rect=(0, 1.3 / height, 1, 1 - 0.3 / height))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_summary(out_dir: str, methods: Mapping, info: Mapping,
                  maps: Optional[Mapping] = None) -> Dict[str, str]:
    """Write ``summary.json``, ``summary.md``, ``summary.png`` and, with
    ``maps``, ``embedding_maps.png`` into ``out_dir``; returns their
    paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {key: os.path.join(out_dir, f'summary.{key}')
             for key in ('json', 'md', 'png')}
    found = verdicts(methods, int(info.get('num_queries', 100)))
    summary = dict(methods=methods, gaps=gaps(methods), verdicts=found,
                   **info)
    with open(paths['json'], 'w') as file:
        json.dump(summary, file, indent=2)
    lines = ['# Scene-bias demo', '',
             'Values in percent; gap = test_same minus test_swapped '
             '(smaller means less scene bias); chance is 10 %.', '',
             format_table(methods, markdown=True), '']
    if info.get('quick'):
        lines += [f'**{QUICK_NOTE}**', '']
    lines += [f'- {line}' for line in verdict_lines(found)] + ['']
    lines += [f'- {key}: {value}' for key, value in info.items()
              if not isinstance(value, (dict, list))]
    with open(paths['md'], 'w') as file:
        file.write('\n'.join(lines) + '\n')
    plot_summary(methods, paths['png'],
                 title=f"scene-bias demo, seed {info.get('seed', '?')}")
    if maps:
        paths['maps'] = plot_embedding_maps(
            maps, os.path.join(out_dir, 'embedding_maps.png'))
    return paths


def check_summary(summary: Mapping, methods: Optional[Sequence[str]] = None
                  ) -> None:
    """Raise ValueError unless ``summary`` has every method, split, metric
    and the unbiased probe with a value in [0, 1]."""
    for name in methods or summary['methods']:
        result = summary['methods'][name]
        values = {f'{split}/{metric}': result[split][metric]
                  for split in SPLITS for metric in METRICS}
        values['unbiased_probe'] = result['unbiased_probe']
        for key, value in values.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f'{name}/{key} = {value} is outside [0, 1]')


def embedding_maps(run: RunPlan, sets: DataSets
                   ) -> Dict[str, Dict[str, np.ndarray]]:
    """Every method's t-SNE map of its test_swapped embeddings, with the
    motion class and the scene of each video."""
    scenes = np.array([r['scene'] for r in split_records(
        sets.biased, 'test_swapped')])
    maps: Dict[str, Dict[str, np.ndarray]] = {}
    for name in run.methods:
        dump = os.path.join(run.work, name, 'embeddings.pkl')
        swapped, labels = split_queries(load_dumped_embeddings(dump),
                                        sets.counts)['test_swapped']
        maps[name] = dict(xy=project_2d(swapped, run.seed), labels=labels,
                          scenes=scenes)
    return maps


def run_info(run: RunPlan, sets: DataSets, args: argparse.Namespace,
             stage_seconds: Mapping[str, float],
             checkpoints: Mapping[str, str], start: float
             ) -> Dict[str, Any]:
    """The summary's entries besides the numbers: how the run was made
    (data, schedule, configs, checkpoints, flags, timings)."""
    return dict(
        num_queries=count_lines(os.path.join(sets.biased,
                                             'test_swapped.txt')),
        seed=run.seed, quick=run.quick, num_train_per_class=run.per_class,
        iterations=run.schedule['iterations'],
        max_epochs=run.schedule['max_epochs'], batch_size=run.batch,
        settings_source=run.source,
        data={k: (list(v) if isinstance(v, tuple) else v)
              for k, v in run.data.items() if k != 'workers'},
        unbiased_data=dict(own_scene_prob=UNBIASED_OWN_SCENE_PROB,
                           seed=run.seed + UNBIASED_SEED_OFFSET,
                           probe_train_per_class=run.probe_per_class),
        wall_time_s=round(time.time() - start, 1),
        stage_seconds=dict(stage_seconds), threads_per_run=args.threads,
        parallel_runs=args.jobs,
        configs={name: os.path.relpath(config_of(name), REPO)
                 for name in run.methods if name != 'random'},
        embedding_config=os.path.relpath(
            os.path.join(CONFIGS, EMBED_CONFIG), REPO),
        checkpoints=dict(checkpoints), cfg_options=dict(args.cfg_options),
        optimizer=args.optimizer)


def print_report(methods: Mapping[str, Mapping[str, Any]],
                 info: Mapping[str, Any]) -> None:
    """Print the table, the quick run's note and the verdicts."""
    print()
    print(format_table(methods))
    print()
    if info.get('quick'):
        print(f'NOTE: {QUICK_NOTE}')
    for line in verdict_lines(verdicts(methods, info['num_queries'])):
        print(f'- {line}')
    print()
