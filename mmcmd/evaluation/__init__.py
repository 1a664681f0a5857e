"""Registered evaluation components."""
from .. import _openmmlab  # noqa: F401  (compat first)
from .dump_results import WeightsOnlyDumpResults, load_dumped_results
from .linear_probe import LinearProbe, fit_linear_probe, linear_probe_accuracy
from .retrieval_metric import VideoRetrievalMetric, recall_at_k

__all__ = ['LinearProbe', 'VideoRetrievalMetric', 'WeightsOnlyDumpResults',
           'fit_linear_probe', 'linear_probe_accuracy',
           'load_dumped_results', 'recall_at_k']
