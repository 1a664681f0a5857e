"""tools/deployment/publish_model.py: stripped, hash-named, weights-only;
and the publishing module next to it (checkpoints, metafile entries, the
scene-bias demo's zoo entries)."""
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import yaml
from mmengine.logging import HistoryBuffer
from suite_utils import REPO_ROOT, load_tool, run_tool

import mmcmd  # noqa: F401  (lets weights-only loading read mmengine files)
from mmcmd.datasets.synthetic import generate_dataset
from mmcmd.utils import zoo

publishing = load_tool('tools/deployment/publishing.py')


def _tool():
    return load_tool('tools/deployment/publish_model.py')


def _training_checkpoint(path: Path) -> dict:
    """What mmengine's CheckpointHook saves (optimizer, hub, schedulers)."""
    model = torch.nn.Sequential(torch.nn.Conv3d(3, 4, 3),
                                torch.nn.BatchNorm3d(4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 3, 5, 5)).sum().backward()
    optimizer.step()
    buffer = HistoryBuffer()
    buffer.update(1.5)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    checkpoint = dict(
        meta=dict(epoch=120, iter=4000, cfg='model = dict()', seed=7,
                  experiment_name='x', time='today', hook_msgs={},
                  mmengine_version='0.10.7', dataset_meta=dict(classes=['a']),
                  seed_array=np.arange(3)),
        state_dict=state, optimizer=optimizer.state_dict(),
        message_hub=dict(log_scalars={'train/loss': buffer}),
        param_schedulers=[dict(last_epoch=120)], ema_state_dict=state)
    torch.save(checkpoint, path)
    return state


def test_publish_strips_and_names_by_hash(tmp_path, capsys):
    state = _training_checkpoint(tmp_path / 'epoch_120.pth')
    out = tmp_path / 'zoo' / 'cmd_tiny'
    assert _tool().main([str(tmp_path / 'epoch_120.pth'), str(out)]) == 0
    final = capsys.readouterr().out.strip()
    digest = hashlib.sha256(Path(final).read_bytes()).hexdigest()
    assert final == f'{out}-{digest[:8]}.pth' and os.path.isfile(final)
    assert len(os.listdir(tmp_path / 'zoo')) == 1  # no temporary left
    published = torch.load(final, weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    assert published['meta'] == dict(epoch=120, iter=4000,
                                     mmengine_version='0.10.7',
                                     dataset_meta=dict(classes=['a']))
    assert published['state_dict'].keys() == state.keys()
    assert all(torch.equal(published['state_dict'][k], v)
               for k, v in state.items())
    assert os.path.getsize(final) < os.path.getsize(tmp_path / 'epoch_120.pth')
    # An OUT ending in .pth gets the hash before the extension.
    assert _tool().main([str(tmp_path / 'epoch_120.pth'),
                         str(tmp_path / 'named.pth')]) == 0
    assert capsys.readouterr().out.strip().endswith(f'named-{digest[:8]}.pth')


class _Payload:
    """Pickles to a call of os.system (what a crafted checkpoint does)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_publish_refuses_crafted_checkpoint(tmp_path, capsys):
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'w': torch.zeros(1)},
                'meta': _Payload(str(marker))}, tmp_path / 'evil.pth')
    assert _tool().main([str(tmp_path / 'evil.pth'),
                         str(tmp_path / 'out')]) == 1
    err = capsys.readouterr().err
    assert 'Refused to load checkpoint' in err and 'evil.pth' in err
    assert not marker.exists() and list(tmp_path.iterdir()) == [
        tmp_path / 'evil.pth']


def test_publish_what_train_writes_in_a_fresh_process(tiny_dataset):
    """The user's two commands: tools/train.py, then publish_model.py in a
    new interpreter (mmengine not imported before the checkpoint is read).
    """
    work = tiny_dataset / 'work'
    trained = run_tool([sys.executable, REPO_ROOT / 'tools/train.py',
                        REPO_ROOT / 'tests/configs/tiny_recognizer3d.py',
                        '--work-dir', work, '--cfg-options',
                        'train_cfg.max_epochs=1'], tiny_dataset)
    assert trained.returncode == 0, trained.stderr[-3000:]
    publish = [sys.executable, REPO_ROOT / 'tools/deployment/publish_model.py']
    result = run_tool(publish + [work / 'epoch_1.pth',
                                 'checkpoints/tiny'], tiny_dataset)
    assert result.returncode == 0, result.stderr[-3000:]
    final = tiny_dataset / result.stdout.strip()
    published = torch.load(final, weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    assert published['meta']['epoch'] == 1
    assert 'backbone.conv1.conv.weight' in published['state_dict']

    notes = tiny_dataset / 'notes.txt'
    notes.write_text('not a checkpoint\n' * 20)
    result = run_tool(publish + [notes, 'checkpoints/notes'], tiny_dataset)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {str(notes)!r} is not a checkpoint (neither the zip archive "
        'nor the pickle that torch.save writes); give a .pth file written '
        'by torch.save, e.g. work_dirs/<config>/epoch_N.pth of '
        'tools/train.py.']
    assert 'could run code' not in result.stderr
    assert sorted(os.listdir(tiny_dataset / 'checkpoints')) == [final.name]


def test_refusal_names_the_global_in_full(tmp_path, capsys):
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': _Payload('x')},
               tmp_path / 'evil.pth')
    assert _tool().main([str(tmp_path / 'evil.pth'),
                         str(tmp_path / 'out')]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.endswith(f'Details: the file needs {os.system.__module__}'
                        '.system, which the allow-list lacks')


# ------------------------------------------------- the publishing module
def _small_checkpoint(path: Path, seed: int = 0) -> dict:
    """A small training-like checkpoint (optimizer state to strip)."""
    torch.manual_seed(seed)
    model = torch.nn.Conv3d(3, 4, 3)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    torch.save(dict(meta=dict(epoch=3, seed=seed), state_dict=state,
                    optimizer=dict(state={}, param_groups=[])), path)
    return state


def test_publish_checkpoint_strips_and_names_by_sha256(tmp_path):
    state = _small_checkpoint(tmp_path / 'epoch_3.pth')
    final = publishing.publish_checkpoint(str(tmp_path / 'epoch_3.pth'),
                                   str(tmp_path / 'zoo' / 'tiny.pth'))
    digest = hashlib.sha256(Path(final).read_bytes()).hexdigest()
    assert final == str(tmp_path / 'zoo' / f'tiny-{digest[:8]}.pth')
    assert zoo.sha256_file(final) == digest
    saved = torch.load(final, weights_only=True)
    assert saved['meta'] == dict(epoch=3)
    assert list(saved['state_dict']) == list(state)
    # Same input, same bytes, same name, whatever the output stem.
    again = publishing.publish_checkpoint(str(tmp_path / 'epoch_3.pth'),
                                   str(tmp_path / 'other' / 'x'))
    assert again.endswith(f'x-{digest[:8]}.pth')
    assert os.listdir(tmp_path / 'zoo') == [os.path.basename(final)]


def test_update_metafile_replaces_by_name_and_keeps_the_rest(tmp_path):
    path = tmp_path / 'metafile.yml'
    path.write_text('# header line\n# second\nCollections: []\nModels:\n'
                    '- {Name: a, Config: x.py, Weights: null}\n'
                    '- {Name: b, Config: y.py, Weights: null}\n')
    collection = dict(Name='C', README='r.md')
    publishing.update_metafile(str(path), [dict(Name='b', Config='z.py',
                                         Weights='b-1.pth', _private=1),
                                    dict(Name='c', Config='w.py')],
                        collection)
    publishing.update_metafile(str(path), [], collection)  # collection not doubled
    text = path.read_text()
    assert text.startswith('# header line\n# second\n')
    data = yaml.safe_load(text)
    assert data['Collections'] == [collection]
    assert data['Models'] == [
        dict(Name='a', Config='x.py', Weights=None),
        dict(Name='b', Config='z.py', Weights='b-1.pth'),
        dict(Name='c', Config='w.py')]
    assert not (tmp_path / 'metafile.yml.part').exists()


def test_evaluation_data_lists_every_generator_keyword():
    summary = dict(seed=4, data=dict(num_train_per_class=2, size=(64, 64),
                                     num_frames=24, scene_contrast=0.5))
    data = publishing.evaluation_data(summary, generate_dataset)
    assert data == dict(seed=4, num_train_per_class=2, num_test_per_class=10,
                        size=[64, 64], num_frames=24, codec='h264',
                        camera_motion=False, own_scene_prob=0.85, fps=25,
                        scene_contrast=0.5)
    json.dumps(data)  # plain values only


def test_demo_names_and_retrieval_configs():
    base = 'configs/synthetic/retrieval_r2plus1d-10_8x2x4_synthetic'
    tests = publishing.retrieval_configs(base + '-test-same.py')
    assert tests == dict(same=base + '-test-same.py',
                         swapped=base + '-test-swapped.py')
    assert all((REPO_ROOT / p).is_file() for p in tests.values())
    summary = dict(seed=2, embedding_config=base + '-test-same.py',
                   configs=dict(cmd='configs/synthetic/cmd_x_synthetic.py'))
    assert publishing.demo_model_name('cmd', summary) == 'cmd_x_synthetic_seed2'
    assert publishing.demo_model_name('random', summary) == \
        'random_r2plus1d-10_8x2x4_synthetic_seed2'
