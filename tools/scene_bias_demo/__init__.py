"""The scene-bias demo behind ``tools/demo.py``, one module per concern.

- :mod:`.plan`: methods, configs, data size and schedule of a run
  (:class:`~.plan.RunPlan`);
- :mod:`.data`: the biased and unbiased synthetic sets and the query list;
- :mod:`.stages`: the training and embedding runs (typed specs
  :class:`~.stages.TrainSpec` / :class:`~.stages.EmbedSpec`), in this
  process or in worker processes;
- :mod:`.measure`: retrieval, linear probes (:mod:`mmcmd.evaluation`'s one
  probe) and classifiers from the dumped embeddings;
- :mod:`.report`: verdicts, the table, the pictures and the summary files.

Publishing a finished demo's checkpoints is ``tools/deployment``'s
(:func:`deployment.publishing.publish_demo`).
"""
