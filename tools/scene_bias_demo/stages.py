"""The demo's runs: one mmengine ``Runner`` per training or embedding
stage, described by a typed spec, in this process or in worker processes."""
from __future__ import annotations

import contextlib
import gc
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
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
    Union,
)

import torch

from mmcmd.datasets.annotations import point_dataset_at
from mmcmd.utils.config_options import merge_cfg_options

from .data import DataSets
from .plan import CONFIGS, EMBED_CONFIG, OPTIMIZERS, RunPlan, config_of

#: a data set: (directory, annotation file stem).
DataRef = Tuple[str, str]


@dataclass
class Stage:
    """What every stage needs.

    Attributes:
        name: the stage's name (a method, or ``<method>/embed``).
        config: path of the mmengine config it starts from.
        work_dir: the Runner's work_dir.
        log: file that takes the stage's stdout and stderr.
        threads: torch threads of the run.
        start: the demo's start time (for the progress lines).
    """

    name: str
    config: str
    work_dir: str
    log: str
    threads: int
    start: float

    kind = ''


@dataclass
class TrainSpec(Stage):
    """A training of one method.

    Attributes:
        train_data: the train set.
        batch_size: videos per batch.
        schedule: ``max_epochs`` and ``param_scheduler`` to set
            (:func:`scene_bias_demo.plan.schedule`).
        seed: the training's seed.
        resume: continue from the last checkpoint of ``work_dir``.
        cfg_options: overrides of the config (``--cfg-options``).
        optimizer: a key of :data:`scene_bias_demo.plan.OPTIMIZERS`.
    """

    train_data: DataRef
    batch_size: int
    schedule: Dict[str, Any]
    seed: int
    resume: bool = False
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    optimizer: str = 'config'

    kind = 'train'


@dataclass
class EmbedSpec(Stage):
    """An embedding run: gallery and queries through one checkpoint.

    Attributes:
        dump: file the embeddings are written to.
        gallery: the gallery set.
        queries: the query list (every query set, in order).
        checkpoint: the weights; None until the stage ``after`` ends.
        after: the training stage whose checkpoint it takes, if any.
    """

    dump: str
    gallery: DataRef
    queries: DataRef
    checkpoint: Optional[str] = None
    after: Optional[str] = None

    kind = 'embed'


StageSpec = Union[TrainSpec, EmbedSpec]


@dataclass
class StageOptions:
    """The flags every stage of a run shares.

    Attributes:
        threads: torch threads per run (``--threads``).
        start: the demo's start time.
        cfg_options: overrides of every training config.
        optimizer: ``--optimizer``.
    """

    threads: int = 1
    start: float = 0.0
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    optimizer: str = 'config'


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


def build_stage_cfg(spec: StageSpec):
    """The mmengine Config of one demo stage."""
    from mmengine.config import Config

    import mmcmd
    mmcmd.register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(spec.config)
    cfg.work_dir = spec.work_dir
    cfg.launcher = 'none'
    cfg.experiment_name = f"{spec.name.replace('/', '_')}_{spec.kind}"
    if isinstance(spec, TrainSpec):
        data_dir, stem = spec.train_data
        point_dataset_at(cfg.train_dataloader.dataset, data_dir,
                         ann_file=osp.join(data_dir, f'{stem}.txt'))
        cfg.train_dataloader.batch_size = spec.batch_size
        cfg.train_cfg.max_epochs = spec.schedule['max_epochs']
        cfg.param_scheduler = spec.schedule['param_scheduler']
        cfg.randomness = dict(seed=spec.seed, deterministic=False)
        cfg.resume, cfg.load_from = bool(spec.resume), None
        optimizer = OPTIMIZERS.get(spec.optimizer or 'config')
        if optimizer:
            cfg.optim_wrapper.optimizer = dict(optimizer)
        merge_cfg_options(cfg, dict(spec.cfg_options or {}))
    else:
        dataset = cfg.test_dataloader.dataset
        template = dict(dataset.query)
        data_dir, stem = spec.gallery
        dataset.gallery = _dataset(dict(dataset.gallery), data_dir, stem)
        data_dir, stem = spec.queries
        dataset.query = _dataset(template, data_dir, stem)
        # Written with torch.save, so that it reads back weights-only.
        cfg.test_evaluator = [dict(type='WeightsOnlyDumpResults',
                                   out_file_path=spec.dump)]
        cfg.load_from = spec.checkpoint
    return cfg


def run_stage(spec: StageSpec) -> Dict[str, Any]:
    """Build one stage's Runner with ``Runner.from_cfg`` and run it.

    ``train``: returns the checkpoint, epochs, iterations, last loss and
    seconds. ``embed``: embeds the gallery and the queries (``(dir, stem)``
    of an annotation list each) into ``spec.dump``; returns the dump
    path and seconds. Output goes to ``spec.log``; epoch lines to the
    real stdout.
    """
    from mmengine.runner import Runner
    started = time.time()
    resume = isinstance(spec, TrainSpec) and spec.resume
    with stage_output(spec.log, append=resume) as say:
        torch.set_num_threads(max(1, int(spec.threads)))
        cfg = build_stage_cfg(spec)
        runner = Runner.from_cfg(cfg)
        if isinstance(spec, TrainSpec):
            runner.register_hook(_epoch_hook(spec.name, say, spec.start))
            runner.train()
            loss = runner.message_hub.log_scalars.get('train/loss')
            result = dict(checkpoint=last_checkpoint(spec.work_dir),
                          epochs=int(runner.epoch), iterations=int(runner.iter),
                          loss=None if loss is None else float(
                              loss.current()))
        else:
            runner.test()
            result = dict(dump=spec.dump)
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


def run_stages(specs: Sequence[StageSpec], jobs: int,
               say: Callable[[str], None]) -> Dict[str, Dict[str, Any]]:
    """Run ``specs`` in order, in this process when ``jobs`` is 1, else
    ``jobs`` at a time in worker processes; results by stage name.

    An :class:`EmbedSpec` with ``after`` (a stage name) waits for that
    stage and takes its result's ``checkpoint``; so an embedding starts as
    soon as its training ends.
    """
    results: Dict[str, Dict[str, Any]] = {}
    names = {spec.name for spec in specs}

    def ready(spec: StageSpec) -> bool:
        after = getattr(spec, 'after', None)
        if after is None or after not in names:
            return True
        if after in results:
            spec.checkpoint = results[after]['checkpoint']
            return True
        return False

    def finished(spec: StageSpec, result: Dict[str, Any]) -> None:
        results[spec.name] = result
        say(f'  {spec.name}: done in {result["seconds"]:.0f} s')

    def failed(spec: StageSpec, error: BaseException) -> None:
        raise SystemExit(f'error: {spec.name} failed ({error!r}); full '
                         f'log: {spec.log}')

    waiting = list(specs)
    if jobs <= 1 or len(specs) <= 1:
        for spec in waiting:  # dependencies come first in the list
            ready(spec)
            say(f'  {spec.name}: started (log {spec.log})')
            try:
                finished(spec, run_stage(spec))
            except Exception as error:  # noqa: BLE001 (named in the exit)
                failed(spec, error)
        return results
    # Spawned workers (no forked torch state), each running stage after
    # stage, so that the imports are paid once per worker.
    with ProcessPoolExecutor(jobs, mp_context=get_context('spawn')) as pool:
        running: Dict[Any, StageSpec] = {}
        while waiting or running:
            for spec in [s for s in waiting if ready(s)]:
                if len(running) >= jobs:
                    break
                waiting.remove(spec)
                say(f'  {spec.name}: started (log {spec.log})')
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


def random_init(run: RunPlan, say: Callable[[str], None]) -> None:
    """Step 2: save the random-init checkpoint (kept when resuming)."""
    if 'random' not in run.methods:
        say('[2/4] random init not asked for')
        return
    init_path = osp.join(run.work, 'random', 'init.pth')
    if run.resume and osp.isfile(init_path):
        # Rewriting it would date it after its embeddings.
        say(f'[2/4] reusing the random-init checkpoint {init_path}')
        return
    say(f'[2/4] saving the random-init clip encoder (seed {run.seed})')
    save_initial_checkpoint(osp.join(CONFIGS, EMBED_CONFIG), init_path,
                            run.seed)


def plan_stages(run: RunPlan, sets: DataSets, options: StageOptions,
                say: Callable[[str], None]
                ) -> Tuple[List[StageSpec], Dict[str, str]]:
    """The stages still to run, and the checkpoints known already (random
    init; trainings a resumed run keeps).

    Each method gets a training (unless random init, or finished before
    when resuming) and an embedding of the gallery and every query set
    (unless resuming and its dump is newer than its checkpoint).
    """
    checkpoints: Dict[str, str] = {}
    specs: List[StageSpec] = []
    common = dict(threads=options.threads, start=options.start)
    for name in run.methods:
        method_dir = osp.join(run.work, name)
        if name == 'random':
            checkpoints[name] = osp.join(method_dir, 'init.pth')
        else:
            done = run.resume and training_done(
                method_dir, run.schedule['max_epochs'])
            if done:
                say(f'  {name}: trained before, kept ({done})')
                checkpoints[name] = done
            else:
                specs.append(TrainSpec(
                    name=name, config=config_of(name), work_dir=method_dir,
                    log=osp.join(run.logs, f'train_{name}.log'),
                    train_data=(sets.unbiased if name == 'supervised_unbiased'
                                else sets.biased, 'train'),
                    batch_size=run.batch, schedule=run.schedule,
                    seed=run.seed, resume=run.resume,
                    cfg_options=dict(options.cfg_options),
                    optimizer=options.optimizer, **common))
        dump = osp.join(method_dir, 'embeddings.pkl')
        if (run.resume and name in checkpoints
                and evaluation_done(dump, checkpoints[name])):
            say(f'  {name}/embed: done before, kept')
            continue
        specs.append(EmbedSpec(
            name=f'{name}/embed', after=name,
            config=osp.join(CONFIGS, EMBED_CONFIG),
            work_dir=osp.join(method_dir, 'embed'),
            log=osp.join(run.logs, f'embed_{name}.log'), dump=dump,
            checkpoint=checkpoints.get(name), gallery=(sets.biased, 'train'),
            queries=(run.work, 'queries'), **common))
    return specs, checkpoints


def record_training(run: RunPlan, results: Mapping[str, Dict[str, Any]],
                    checkpoints: Dict[str, str]) -> Dict[str, Dict[str, Any]]:
    """Write ``<method>/training.json`` of the trainings that ran, add
    their checkpoints to ``checkpoints``; returns every method's record
    (those of trainings a resumed run kept too)."""
    info: Dict[str, Dict[str, Any]] = {}
    for name in run.methods:
        record = osp.join(run.work, name, 'training.json')
        if name in results:
            checkpoints[name] = results[name]['checkpoint']
            with open(record, 'w') as file:
                json.dump(results[name], file, indent=1)
        if osp.isfile(record):
            with open(record) as file:
                info[name] = json.load(file)
    return info
