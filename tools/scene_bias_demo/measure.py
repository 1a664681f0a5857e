"""The demo's numbers from the dumped embeddings: retrieval, linear probes,
the unbiased probe and the supervised classifiers."""
from __future__ import annotations

import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from mmcmd.evaluation.dump_results import load_dumped_results
from mmcmd.evaluation.linear_probe import linear_probe_accuracy

from .data import DataSets
from .plan import SPLITS, SUPERVISED, RunPlan

#: the probe's penalty: 1e-3 x the squared weights (weight decay 2e-3).
PROBE_WEIGHT_DECAY = 2e-3


def load_dumped_embeddings(path: str) -> Dict[str, np.ndarray]:
    """Read the prediction dump of an embedding run (``WeightsOnlyDumpResults``
    of a ``VideoRetrievalDataset`` test), weights-only: a file holding
    anything that could run code is refused
    (:class:`mmcmd.utils.checkpoint.UnsafeCheckpointError`).

    Returns float64 ``gallery`` (G, C) / ``query`` (Q, C) embeddings and
    int ``gallery_labels`` / ``query_labels``, in dataset order.
    """
    rows = load_dumped_results(path)
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


def split_queries(embeddings: Mapping[str, np.ndarray],
                  counts: Mapping[str, int]) -> Dict[str, Tuple[
                      np.ndarray, np.ndarray]]:
    """Cut the query rows of a dump into the named sets of ``counts`` (in
    their order): name -> (embeddings, labels)."""
    total = sum(counts.values())
    if len(embeddings['query']) != total:
        raise ValueError(f"dump holds {len(embeddings['query'])} queries, "
                         f'the query sets {dict(counts)} {total}; embed '
                         'again (delete the dump)')
    out, start = {}, 0
    for name, count in counts.items():
        out[name] = (embeddings['query'][start:start + count],
                     embeddings['query_labels'][start:start + count])
        start += count
    return out


def classifier_accuracy(checkpoint: str, embeddings: np.ndarray,
                        labels: np.ndarray) -> float:
    """Top-1 accuracy of a supervised checkpoint's classifier
    (``cls_head.fc_cls``) on video embeddings: the mean over clips of the
    pooled features, so its logits are the mean of the clips' logits
    (mmaction2's ``average_clips='score'``)."""
    from mmcmd.utils.checkpoint import load_checkpoint_file
    state = load_checkpoint_file(checkpoint)
    state = state.get('state_dict', state)
    if 'cls_head.fc_cls.weight' not in state:
        raise KeyError(f'{checkpoint}: no cls_head.fc_cls weights; not a '
                       'supervised (Recognizer3D) checkpoint')
    weight = state['cls_head.fc_cls.weight'].double().numpy()
    bias = state['cls_head.fc_cls.bias'].double().numpy()
    pred = (np.asarray(embeddings, np.float64) @ weight.T + bias).argmax(1)
    return float(np.mean(pred == np.asarray(labels)))


def method_results(dump: str, counts: Mapping[str, int],
                   checkpoint: Optional[str] = None) -> Dict[str, Any]:
    """Every number of one method from its embedding dump: R@1/R@5 (gallery
    = train) and the linear probe on test_same / test_swapped, the
    unbiased probe, and the classifier where ``checkpoint`` is supervised.
    """
    from mmcmd.evaluation import recall_at_k
    emb = load_dumped_embeddings(dump)
    sets = split_queries(emb, counts)
    gallery, gallery_labels = emb['gallery'], emb['gallery_labels']
    out: Dict[str, Any] = {}
    for key, stem in SPLITS.items():
        query, labels = sets[stem]
        recall = recall_at_k(query, labels, gallery, gallery_labels, (1, 5))
        out[key] = {'R@1': float(recall['R@1']), 'R@5': float(recall['R@5']),
                    'linear': linear_probe_accuracy(
                        gallery, gallery_labels, query, labels,
                        PROBE_WEIGHT_DECAY)}
    out['unbiased_probe'] = linear_probe_accuracy(
        *sets['probe_train'], *sets['probe_test'], PROBE_WEIGHT_DECAY)
    if checkpoint is not None:
        out['classifier'] = {key: classifier_accuracy(checkpoint,
                                                      *sets[stem])
                             for key, stem in SPLITS.items()}
    return out


def measure_methods(run: RunPlan, sets: DataSets,
                    checkpoints: Mapping[str, str],
                    training: Mapping[str, Mapping[str, Any]]
                    ) -> Dict[str, Dict[str, Any]]:
    """:func:`method_results` of every method (the classifier of the
    supervised ones), with its training's iterations, last loss and
    seconds where it was trained."""
    results: Dict[str, Dict[str, Any]] = {}
    for name in run.methods:
        dump = osp.join(run.work, name, 'embeddings.pkl')
        results[name] = method_results(
            dump, sets.counts,
            checkpoints[name] if name in SUPERVISED else None)
        if name in training:
            results[name]['training'] = {
                k: training[name].get(k) for k in ('iterations', 'loss',
                                                   'seconds')}
    return results
