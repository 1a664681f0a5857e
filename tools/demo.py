"""Scene-bias demo: what each method's video features encode, motion or scene.

Synthetic data -> pretraining / supervised training of one clip encoder per
method -> embeddings -> retrieval, linear probes and an unbiased probe on
test_same / test_swapped -> table, verdicts, summary files and pictures.

    python tools/demo.py [--methods NAME ...|all] [--seed N] [--work-dir DIR]
        [--quick] [--resume] [--cfg-options KEY=VALUE ...]

Every training and embedding run is an mmengine ``Runner`` built with
``Runner.from_cfg`` from a config of configs/synthetic/ (data paths and the
schedule set on the loaded config); with ``--jobs 1`` they run in this
process, otherwise in a pool of worker processes (two trainings at once use
two cores better than one). Writes DIR/summary.json, DIR/summary.md,
DIR/summary.png and DIR/embedding_maps.png; the log of each run goes to
DIR/logs/.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import glob
import inspect
import io
import json
import math
import os
import os.path as osp
import pickle
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np
import torch
from mmengine.config import DictAction

from mmcmd.datasets import synthetic
from mmcmd.utils.config_options import merge_cfg_options

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs', 'synthetic')

#: config of each method trained by the demo (configs/synthetic/).
TRAIN_CONFIGS: Dict[str, str] = {
    'cmd': 'cmd_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py',
    'rgb_contrast': 'rgbcontrast_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py',
    'supervised_biased': 'supervised_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py',
    'supervised_unbiased':
        'supervised_r2plus1d-10_1xb16-8x2x1-20e_synthetic-unbiased.py',
}
#: the embedding config (VideoEmbedder over the shared clip encoder).
EMBED_CONFIG = 'retrieval_r2plus1d-10_8x2x4_synthetic-test-same.py'
#: config file prefix -> method name, where they differ.
CONFIG_PREFIX = {'rgbcontrast': 'rgb_contrast'}
SUPERVISED = ('supervised_biased', 'supervised_unbiased')
#: the methods of a plain ``make demo``.
DEFAULT_METHODS = ('cmd', 'rgb_contrast', 'random', 'supervised_biased',
                   'supervised_unbiased')
#: display labels of the methods.
LABELS: Dict[str, str] = {
    'cmd': 'CMD', 'rgb_contrast': 'RGB contrast', 'random': 'random init',
    'dsm': 'DSM', 'dsmtriplet': 'DSM (triplet)', 'mlfo': 'MLFO',
    'supervised_biased': 'supervised biased',
    'supervised_unbiased': 'supervised unbiased'}
#: evaluation splits: summary key -> annotation file stem.
SPLITS: Dict[str, str] = {'same': 'test_same', 'swapped': 'test_swapped'}
METRICS: Tuple[str, ...] = ('R@1', 'R@5', 'linear')

#: data and schedule used while mmcmd.datasets.synthetic has no CALIBRATED.
FALLBACK_SETTINGS = dict(num_train_per_class=24, iterations=300,
                         object_size=None, scene_contrast=1.0)
#: data of ``--quick`` (a seconds-long smoke run); one epoch of batch 8.
#: what the table of a quick run says about its numbers.
QUICK_NOTE = ('quick smoke run: one epoch on a handful of tiny videos; '
              'these numbers check the plumbing and mean nothing')
QUICK_DATA = dict(num_train_per_class=2, num_test_per_class=1,
                  size=(64, 64), num_frames=24)
QUICK_BATCH = 8
#: the unbiased set: every scene as likely for every class (1 of 10 own).
UNBIASED_OWN_SCENE_PROB = 0.1
#: unbiased-probe train videos per class; the unbiased data uses another
#: data seed so that its videos are not those of the biased set.
PROBE_TRAIN_PER_CLASS = 30
UNBIASED_SEED_OFFSET = 1000
#: thresholds of the verdicts (issue 13): the ceiling and the trap.
CEILING = 0.9
TRAP_SAME, TRAP_SWAPPED = 0.8, 0.3
#: ``--optimizer``: the same optimiser for every trained method (the
#: gradient clipping and the schedule of the configs are kept); 'config'
#: keeps the configs' own (AdamW, configs/synthetic/_base_/
#: pretrain_runtime.py); 'sgd' is CMD's SGD Nesterov at the demo's lr.
OPTIMIZERS: Dict[str, Optional[Dict[str, Any]]] = {
    'config': None,
    'sgd': dict(type='SGD', lr=0.064, momentum=0.9, nesterov=True,
                weight_decay=1e-3),
}
#: ``--full``: this many times the calibrated iterations (the budget at
#: which CMD's motion loss was measured below 85 % of ln K, see
#: docs/scene_bias.md).
FULL_FACTOR = 5


# ------------------------------------------------------------- settings
def calibrated_settings() -> Tuple[Dict[str, Any], str]:
    """Data size, iteration budget, object size and scene contrast of the
    benchmark: ``synthetic.CALIBRATED`` where it exists, else today's demo
    values; returns them and where they came from."""
    calibrated = getattr(synthetic, 'CALIBRATED', None)
    if calibrated:
        settings = dict(FALLBACK_SETTINGS)
        settings.update(calibrated)
        return settings, 'mmcmd.datasets.synthetic.CALIBRATED'
    return dict(FALLBACK_SETTINGS), 'fallback (no CALIBRATED constant)'


def generator_kwargs(settings: Mapping[str, Any]) -> Dict[str, Any]:
    """The keyword arguments of ``generate_dataset`` that carry ``settings``
    (object size only where the generator takes it)."""
    params = inspect.signature(synthetic.generate_dataset).parameters
    kwargs: Dict[str, Any] = {}
    if settings.get('scene_contrast') is not None:
        kwargs['scene_contrast'] = float(settings['scene_contrast'])
    if settings.get('object_size') is not None and 'object_size' in params:
        kwargs['object_size'] = tuple(settings['object_size'])
    return kwargs


def schedule(iterations: int, num_train: int, batch_size: int
             ) -> Dict[str, Any]:
    """Epoch-based schedule of about ``iterations`` SGD steps on
    ``num_train`` videos: the shared runtime's warm-up (15 % of the epochs,
    at least one when there are two) then cosine decay.

    Returns ``max_epochs``, ``iterations`` (the steps it really runs) and the
    ``param_scheduler`` list to set on a training config.
    """
    per_epoch = num_train // batch_size
    if per_epoch < 1:
        raise ValueError(f'{num_train} train videos do not fill one batch '
                         f'of {batch_size}; generate more videos')
    epochs = max(1, int(round(iterations / per_epoch)))
    warmup = max(1, int(round(0.15 * epochs))) if epochs >= 2 else 0
    schedulers = []
    if warmup:
        schedulers.append(dict(type='LinearLR', start_factor=0.01,
                               by_epoch=True, begin=0, end=warmup,
                               convert_to_iter_based=True))
    schedulers.append(dict(type='CosineAnnealingLR', T_max=epochs - warmup,
                           eta_min=0, by_epoch=True, begin=warmup,
                           end=epochs, convert_to_iter_based=True))
    return dict(max_epochs=epochs, iterations=epochs * per_epoch,
                warmup_epochs=warmup, param_scheduler=schedulers)


def discover_methods(config_dir: str = CONFIGS) -> Dict[str, str]:
    """Every self-supervisor config of ``config_dir`` (not retrieval, not
    supervised), by method name."""
    found = {}
    for path in sorted(glob.glob(osp.join(config_dir, '*_synthetic.py'))):
        prefix = osp.basename(path).split('_')[0]
        if prefix in ('retrieval', 'supervised'):
            continue
        found[CONFIG_PREFIX.get(prefix, prefix)] = osp.basename(path)
    return found


def resolve_methods(names: Sequence[str]) -> List[str]:
    """``--methods`` values -> method names in run order; ``all`` adds
    every self-supervisor config of configs/synthetic/."""
    known = {**discover_methods(), 'random': '', **{
        name: TRAIN_CONFIGS[name] for name in SUPERVISED}}
    out: List[str] = []
    for name in names:
        batch = (list(discover_methods()) + ['random', *SUPERVISED]
                 if name == 'all' else [name])
        for item in batch:
            if item not in known:
                raise SystemExit(f'error: unknown method {item!r}; choose '
                                 f'from {sorted(known)} or all')
            if item not in out:
                out.append(item)
    return out


def config_of(method: str) -> str:
    """Path of the training config of ``method``."""
    return osp.join(CONFIGS, {**discover_methods(), **TRAIN_CONFIGS}[method])


# ------------------------------------------------------------- data
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


# ------------------------------------------------------------- runs
def save_initial_checkpoint(config_path: str, out_path: str,
                            seed: int) -> str:
    """Save the state dict of the model of ``config_path`` right after its
    ``init_weights()`` under ``seed`` (the untrained baseline); returns the
    path."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed
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


@contextlib.contextmanager
def stage_output(log_path: str, append: bool) -> Iterator[
        Callable[[str], None]]:
    """Send this process's stdout and stderr (file descriptors, so that
    mmengine's logger and dataloader workers follow) to ``log_path``; yield
    a function that writes a line to the real stdout."""
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, 'a' if append else 'w') as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield lambda line: os.write(saved[0], (line + '\n').encode())
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def clock(start: float) -> str:
    """Wall time since ``start`` as ``m:ss``."""
    seconds = int(time.time() - start)
    return f'{seconds // 60:2d}:{seconds % 60:02d}'


def _epoch_hook(name: str, say: Callable[[str], None], start: float):
    """A hook that reports every finished training epoch and its loss."""
    from mmengine.hooks import Hook

    class EpochProgress(Hook):
        priority = 'VERY_LOW'

        def after_train_epoch(self, runner) -> None:
            try:
                loss = runner.message_hub.get_scalar('train/loss').current()
                text = f', loss {float(loss):.3f}'
            except KeyError:
                text = ''
            say(f'[{clock(start)}]   {name}: epoch {runner.epoch + 1}/'
                f'{runner.max_epochs} done{text}')

    return EpochProgress()


def _dataset(template: Mapping, data_dir: str, stem: str) -> dict:
    """``template`` (a VideoDataset config) reading ``data_dir/stem.txt``."""
    return dict(template, ann_file=osp.join(data_dir, f'{stem}.txt'),
                data_prefix=dict(video=data_dir))


def build_stage_cfg(spec: Mapping[str, Any]):
    """The mmengine Config of one demo stage (``spec['kind']``: ``'train'``
    or ``'embed'``)."""
    from mmengine.config import Config

    import mmcmd
    mmcmd.register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(spec['config'])
    cfg.work_dir = spec['work_dir']
    cfg.launcher = 'none'
    cfg.experiment_name = f"{spec['name'].replace('/', '_')}_{spec['kind']}"
    if spec['kind'] == 'train':
        data_dir, stem = spec['train_data']
        cfg.train_dataloader.dataset.ann_file = osp.join(data_dir,
                                                         f'{stem}.txt')
        cfg.train_dataloader.dataset.data_prefix = dict(video=data_dir)
        cfg.train_dataloader.batch_size = spec['batch_size']
        cfg.train_cfg.max_epochs = spec['schedule']['max_epochs']
        cfg.param_scheduler = spec['schedule']['param_scheduler']
        cfg.randomness = dict(seed=spec['seed'], deterministic=False)
        cfg.resume, cfg.load_from = bool(spec.get('resume')), None
        optimizer = OPTIMIZERS.get(spec.get('optimizer') or 'config')
        if optimizer:
            cfg.optim_wrapper.optimizer = dict(optimizer)
        merge_cfg_options(cfg, dict(spec.get('cfg_options') or {}))
    else:
        dataset = cfg.test_dataloader.dataset
        template = dict(dataset.query)
        data_dir, stem = spec['gallery']
        dataset.gallery = _dataset(dict(dataset.gallery), data_dir, stem)
        data_dir, stem = spec['queries']
        dataset.query = _dataset(template, data_dir, stem)
        cfg.test_evaluator = [dict(type='DumpResults',
                                   out_file_path=spec['dump'])]
        cfg.load_from = spec['checkpoint']
    return cfg


def run_stage(spec: Mapping[str, Any]) -> Dict[str, Any]:
    """Build one stage's Runner with ``Runner.from_cfg`` and run it.

    ``train``: returns the checkpoint, epochs, iterations, last loss and
    seconds. ``embed``: embeds the gallery and the queries (``(dir, stem)``
    of an annotation list each) into ``spec['dump']``; returns the dump
    path and seconds. Output goes to ``spec['log']``; epoch lines to
    the real stdout.
    """
    from mmengine.runner import Runner
    started = time.time()
    with stage_output(spec['log'], append=bool(spec.get('resume'))) as say:
        torch.set_num_threads(max(1, int(spec.get('threads', 1))))
        cfg = build_stage_cfg(spec)
        runner = Runner.from_cfg(cfg)
        if spec['kind'] == 'train':
            runner.register_hook(_epoch_hook(spec['name'], say,
                                             spec['start']))
            runner.train()
            loss = runner.message_hub.log_scalars.get('train/loss')
            result = dict(checkpoint=last_checkpoint(spec['work_dir']),
                          epochs=int(runner.epoch), iterations=int(runner.iter),
                          loss=None if loss is None else float(
                              loss.current()))
        else:
            runner.test()
            result = dict(dump=spec['dump'])
        del runner
        gc.collect()
    result['seconds'] = round(time.time() - started, 1)
    return result


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint path recorded in ``work_dir/last_checkpoint``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise SystemExit(f'error: no checkpoint was saved in {work_dir}; see '
                         'its log')
    with open(marker) as file:
        return file.read().strip()


def training_done(work_dir: str, max_epochs: int) -> Optional[str]:
    """The final checkpoint of a finished training in ``work_dir`` (its
    last checkpoint is ``epoch_<max_epochs>.pth``), else None."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    path = last_checkpoint(work_dir)
    done = osp.basename(path) == f'epoch_{max_epochs}.pth'
    return path if done and osp.isfile(path) else None


def evaluation_done(dump: str, checkpoint: str) -> bool:
    """Whether the embeddings of ``checkpoint`` in ``dump`` were written
    after it (a resumed training that saved a newer one invalidates
    them)."""
    return (osp.isfile(dump) and osp.isfile(checkpoint)
            and osp.getmtime(dump) >= osp.getmtime(checkpoint))


def run_stages(specs: Sequence[Dict[str, Any]], jobs: int,
               say: Callable[[str], None]) -> Dict[str, Dict[str, Any]]:
    """Run ``specs`` in order, in this process when ``jobs`` is 1, else
    ``jobs`` at a time in worker processes; results by stage name.

    A spec with ``after`` (a stage name) waits for that stage and takes its
    result's ``checkpoint``; so an embedding starts as soon as its training
    ends.
    """
    results: Dict[str, Dict[str, Any]] = {}
    names = {spec['name'] for spec in specs}

    def ready(spec: Dict[str, Any]) -> bool:
        after = spec.get('after')
        if after is None or after not in names:
            return True
        if after in results:
            spec['checkpoint'] = results[after]['checkpoint']
            return True
        return False

    def finished(spec: Mapping[str, Any], result: Dict[str, Any]) -> None:
        results[spec['name']] = result
        say(f"  {spec['name']}: done in {result['seconds']:.0f} s")

    def failed(spec: Mapping[str, Any], error: BaseException) -> None:
        raise SystemExit(f"error: {spec['name']} failed ({error!r}); full "
                         f"log: {spec['log']}")

    waiting = list(specs)
    if jobs <= 1 or len(specs) <= 1:
        for spec in waiting:  # dependencies come first in the list
            ready(spec)
            say(f"  {spec['name']}: started (log {spec['log']})")
            try:
                finished(spec, run_stage(spec))
            except Exception as error:  # noqa: BLE001 (named in the exit)
                failed(spec, error)
        return results
    # Spawned workers (no forked torch state), each running stage after
    # stage, so that the imports are paid once per worker.
    with ProcessPoolExecutor(jobs, mp_context=get_context('spawn')) as pool:
        running: Dict[Any, Dict[str, Any]] = {}
        while waiting or running:
            for spec in [s for s in waiting if ready(s)]:
                if len(running) >= jobs:
                    break
                waiting.remove(spec)
                say(f"  {spec['name']}: started (log {spec['log']})")
                running[pool.submit(run_stage, spec)] = spec
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                spec = running.pop(future)
                try:
                    finished(spec, future.result())
                except Exception as error:  # noqa: BLE001
                    for other in running:
                        other.cancel()
                    failed(spec, error)
    return results


# ------------------------------------------------------------- numbers
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
    """Read the prediction dump of an embedding run (``DumpResults`` of a
    ``VideoRetrievalDataset`` test).

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
                    'linear': linear_probe_accuracy(gallery, gallery_labels,
                                                    query, labels)}
    out['unbiased_probe'] = linear_probe_accuracy(
        *sets['probe_train'], *sets['probe_test'])
    if checkpoint is not None:
        out['classifier'] = {key: classifier_accuracy(checkpoint,
                                                      *sets[stem])
                             for key, stem in SPLITS.items()}
    return out


# ------------------------------------------------------------- summary
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


# ------------------------------------------------------------- main
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', default=list(DEFAULT_METHODS),
                        metavar='NAME',
                        help='methods to compare (default: '
                        f"{' '.join(DEFAULT_METHODS)}); 'all' adds every "
                        'self-supervisor config of configs/synthetic/')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data, the training and the random '
                        'init (default 0)')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='output directory (default work_dirs/demo)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny data and one short epoch per method (a '
                        'smoke test of the whole chain, numbers meaningless)')
    parser.add_argument('--num-train-per-class', type=int, default=None,
                        metavar='N', help='train videos per class (default: '
                        'the calibrated benchmark)')
    parser.add_argument('--iterations', type=int, default=None, metavar='N',
                        help='SGD iterations per trained method, rounded to '
                        'whole epochs (default: the calibrated budget)')
    parser.add_argument('--resume', action='store_true',
                        help='continue a stopped demo in WORK_DIR with the '
                        'same flags: reuse its data, resume each training '
                        'from its last checkpoint (saved every epoch), keep '
                        'the embeddings written after it')
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs at the same time, each in a worker '
                        'process (default 2; 1 runs them in this process)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per run (default 1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='overrides of every training config (all '
                        'methods alike); keys must exist in each config, '
                        'a new key takes a leading +, e.g. +key=value')
    parser.add_argument('--optimizer', choices=sorted(OPTIMIZERS),
                        default='config',
                        help="optimiser of every trained method alike: "
                        "'config' (default) keeps the configs' AdamW (lr "
                        "1e-3, weight decay 0.05); 'sgd' uses CMD's SGD "
                        'Nesterov (lr 0.064, momentum 0.9, weight decay '
                        '1e-3), same clipping and schedule')
    parser.add_argument('--full', action='store_true',
                        help=f'{FULL_FACTOR}x the calibrated iterations per '
                        'trained method (about five times the wall time): '
                        'the budget at which CMD\'s motion task is learnt')
    parser.add_argument('--publish', metavar='DIR',
                        help='copy each method\'s final checkpoint into DIR '
                        '(sha256-named) and list it with its measured '
                        'retrieval metrics in DIR/metafile.yml and, unless '
                        '--quick, configs/synthetic/metafile.yml '
                        '(docs/model_zoo.md)')
    return parser.parse_args(argv)


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


def main(argv: Optional[List[str]] = None) -> int:
    """Run the whole demo; returns the exit code."""
    args = parse_args(argv)
    start = time.time()

    def say(message: str) -> None:
        print(f'[{clock(start)}] {message}', flush=True)

    methods = resolve_methods(args.methods)
    torch.set_num_threads(max(1, args.threads))  # probes, random init
    work = osp.abspath(args.work_dir)
    logs = osp.join(work, 'logs')
    settings, source = calibrated_settings()
    per_class = (args.num_train_per_class or (
        QUICK_DATA['num_train_per_class'] if args.quick
        else settings['num_train_per_class']))
    data = dict(QUICK_DATA) if args.quick else {}
    # Rendering is per video and seeded by it: every core helps.
    data.update(num_train_per_class=per_class,
                workers=max(1, args.jobs, os.cpu_count() or 1),
                **generator_kwargs(settings))
    batch = QUICK_BATCH if args.quick else 16
    budget = args.iterations or settings['iterations'] * (
        FULL_FACTOR if args.full else 1)
    plan = schedule(1 if args.quick else budget, 10 * per_class, batch)
    kind = ('quick smoke run' if args.quick else
            f'{FULL_FACTOR}x budget' if args.full and not args.iterations
            else 'calibrated budget')
    say(f"scene-bias demo ({kind}), "
        f"seed {args.seed}, methods {', '.join(methods)}, output {work}")
    say(f"  settings from {source}: {per_class} train videos per class, "
        f"{plan['iterations']} iterations ({plan['max_epochs']} epochs of "
        f"batch {batch}) per trained method")

    if 'cmd' in methods and not (args.full or args.quick
                                 or args.iterations):
        say(f"  note: at this budget CMD's motion task has barely started "
            f"(docs/scene_bias.md); --full runs {FULL_FACTOR}x the "
            'iterations, where it is learnt (about five times as long)')
    if (settings.get('object_size') and 'object_size' not in data
            and tuple(settings['object_size'])
            != tuple(synthetic.OBJECT_SIZE_RANGE)):
        say(f"  note: generate_dataset takes no object_size; objects span "
            f"{synthetic.OBJECT_SIZE_RANGE} of the frame side, not "
            f"{tuple(settings['object_size'])}")
    say('[1/4] generating the synthetic data: biased splits and an unbiased '
        'set (own scene 1 in 10)')
    biased_dir, unbiased_dir = osp.join(work, 'data'), osp.join(
        work, 'data_unbiased')
    make_data(biased_dir, args.resume, say, seed=args.seed, **data)
    probe_per_class = min(PROBE_TRAIN_PER_CLASS, per_class)
    unbiased = dict(data, own_scene_prob=UNBIASED_OWN_SCENE_PROB)
    # Without the ceiling only the probe's videos are read: a bigger set
    # made by an earlier run (with the ceiling) is kept, not shrunk.
    probe_only = 'supervised_unbiased' not in methods
    if probe_only:
        unbiased['num_train_per_class'] = probe_per_class
    make_data(unbiased_dir, args.resume, say, at_least=probe_only,
              seed=args.seed + UNBIASED_SEED_OFFSET, **unbiased)
    write_probe_split(unbiased_dir, probe_per_class)

    if 'random' in methods:
        init_path = osp.join(work, 'random', 'init.pth')
        if args.resume and osp.isfile(init_path):
            # Rewriting it would date it after its embeddings.
            say(f'[2/4] reusing the random-init checkpoint {init_path}')
        else:
            say(f'[2/4] saving the random-init clip encoder (seed '
                f'{args.seed})')
            save_initial_checkpoint(osp.join(CONFIGS, EMBED_CONFIG),
                                    init_path, args.seed)
    else:
        say('[2/4] random init not asked for')

    say('[3/4] training (same clip encoder, data size, optimiser and '
        'schedule; the self-supervisors ignore the labels), then embedding '
        'train (gallery), test_same, test_swapped and the unbiased probe set')
    queries = [(biased_dir, SPLITS['same']), (biased_dir, SPLITS['swapped']),
               (unbiased_dir, 'probe_train'), (unbiased_dir, 'test_swapped')]
    counts = {key: count_lines(osp.join(folder, f'{stem}.txt'))
              for key, (folder, stem) in zip(
                  ('test_same', 'test_swapped', 'probe_train', 'probe_test'),
                  queries)}
    write_query_list(work, queries)
    checkpoints: Dict[str, str] = {}
    specs: List[Dict[str, Any]] = []
    for name in methods:
        method_dir = osp.join(work, name)
        if name == 'random':
            checkpoints[name] = osp.join(method_dir, 'init.pth')
        else:
            done = args.resume and training_done(method_dir,
                                                 plan['max_epochs'])
            if done:
                say(f'  {name}: trained before, kept ({done})')
                checkpoints[name] = done
            else:
                specs.append(dict(
                    kind='train', name=name, config=config_of(name),
                    work_dir=method_dir,
                    log=osp.join(logs, f'train_{name}.log'),
                    train_data=(unbiased_dir if name == 'supervised_unbiased'
                                else biased_dir, 'train'),
                    batch_size=batch, schedule=plan, seed=args.seed,
                    resume=args.resume, cfg_options=args.cfg_options,
                    optimizer=args.optimizer,
                    threads=args.threads, start=start))
        dump = osp.join(method_dir, 'embeddings.pkl')
        if (args.resume and name in checkpoints
                and evaluation_done(dump, checkpoints[name])):
            say(f'  {name}/embed: done before, kept')
            continue
        specs.append(dict(
            kind='embed', name=f'{name}/embed', after=name,
            config=osp.join(CONFIGS, EMBED_CONFIG),
            work_dir=osp.join(method_dir, 'embed'),
            log=osp.join(logs, f'embed_{name}.log'), dump=dump,
            checkpoint=checkpoints.get(name), gallery=(biased_dir, 'train'),
            queries=(work, 'queries'), threads=args.threads, start=start))
    stages = run_stages(specs, args.jobs, say)
    train_info: Dict[str, Dict[str, Any]] = {}
    for name in methods:
        record = osp.join(work, name, 'training.json')
        if name in stages:
            checkpoints[name] = stages[name]['checkpoint']
            with open(record, 'w') as file:
                json.dump(stages[name], file, indent=1)
        if osp.isfile(record):
            with open(record) as file:
                train_info[name] = json.load(file)
    stage_seconds = {key: value['seconds'] for key, value in stages.items()}

    say('[4/4] retrieval, linear probes, unbiased probe, classifiers, maps '
        'and summary')
    results: Dict[str, Dict[str, Any]] = {}
    maps: Dict[str, Dict[str, np.ndarray]] = {}
    scenes = np.array([r['scene'] for r in split_records(
        biased_dir, 'test_swapped')])
    for name in methods:
        dump = osp.join(work, name, 'embeddings.pkl')
        results[name] = method_results(
            dump, counts, checkpoints[name] if name in SUPERVISED else None)
        if name in train_info:
            results[name]['training'] = {
                k: train_info[name].get(k) for k in ('iterations', 'loss',
                                                     'seconds')}
        swapped, labels = split_queries(load_dumped_embeddings(dump),
                                        counts)['test_swapped']
        maps[name] = dict(xy=project_2d(swapped, args.seed), labels=labels,
                          scenes=scenes)
    info = dict(
        num_queries=count_lines(osp.join(biased_dir, 'test_swapped.txt')),
        seed=args.seed, quick=bool(args.quick), num_train_per_class=per_class,
        iterations=plan['iterations'], max_epochs=plan['max_epochs'],
        batch_size=batch, settings_source=source,
        data={k: (list(v) if isinstance(v, tuple) else v)
              for k, v in data.items() if k != 'workers'},
        unbiased_data=dict(own_scene_prob=UNBIASED_OWN_SCENE_PROB,
                           seed=args.seed + UNBIASED_SEED_OFFSET,
                           probe_train_per_class=probe_per_class),
        wall_time_s=round(time.time() - start, 1),
        stage_seconds=stage_seconds, threads_per_run=args.threads,
        parallel_runs=args.jobs,
        configs={name: osp.relpath(config_of(name), REPO)
                 for name in methods if name != 'random'},
        embedding_config=osp.relpath(osp.join(CONFIGS, EMBED_CONFIG), REPO),
        checkpoints=checkpoints, cfg_options=dict(args.cfg_options),
        optimizer=args.optimizer)
    paths = write_summary(work, results, info, maps)
    check_summary({'methods': results})
    if args.publish:
        from mmcmd.utils.zoo import publish_demo
        for entry in publish_demo(
                work, args.publish, REPO, ' '.join(
                    ['python tools/demo.py', *(argv or sys.argv[1:])]),
                synthetic.generate_dataset,
                None if args.quick else osp.join(CONFIGS, 'metafile.yml')):
            say(f"  published {entry['Name']}: {entry['Weights']}")
    print()
    print(format_table(results))
    print()
    if args.quick:
        print(f'NOTE: {QUICK_NOTE}')
    for line in verdict_lines(verdicts(results, info['num_queries'])):
        print(f'- {line}')
    print()
    say(f"done: {', '.join(paths.values())}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
