"""tools/analysis/benchmark_regression.py on a zoo built at test time.

``tools/demo.py --quick --methods random --publish`` saves an initialised
clip encoder, measures its retrieval R@k with the real test loop and lists
the sha256-named file in a metafile; the tool must measure the same numbers
again and report a damaged, missing or mislisted checkpoint as failed.
"""
from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
import yaml
from suite_utils import REPO_ROOT, free_port, load_tool, run_tool

from mmcmd.utils import zoo

tool = load_tool('tools/analysis/benchmark_regression.py')


@pytest.fixture(scope='module')
def tiny_zoo(tmp_path_factory):
    """(demo work dir, checkpoint root, its metafile's only model)."""
    root = tmp_path_factory.mktemp('zoo')
    work, published = root / 'demo', root / 'checkpoints'
    result = run_tool([sys.executable, REPO_ROOT / 'tools' / 'demo.py',
                       '--quick', '--methods', 'random', '--seed', '3',
                       '--num-train-per-class', '2', '--jobs', '1',
                       '--work-dir', work, '--publish', published],
                      REPO_ROOT, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    models = yaml.safe_load((published / 'metafile.yml').read_text())[
        'Models']
    assert len(models) == 1
    return work, published, models[0]


def _write_metafile(path: Path, models) -> str:
    path.write_text(yaml.safe_dump(dict(Models=list(models)),
                                   sort_keys=False))
    return str(path)


def _run(argv) -> tuple:
    """In-process run: (exit code, the JSON it wrote)."""
    out = Path(argv[argv.index('--json') + 1])
    code = tool.main([str(a) for a in argv])
    return code, json.loads(out.read_text())


def test_published_entry_holds_what_the_demo_measured(tiny_zoo):
    work, published, model = tiny_zoo
    summary = json.loads((work / 'summary.json').read_text())
    assert model['Name'] == 'random_r2plus1d-10_8x2x4_synthetic_seed3'
    weights = published / model['Weights']
    assert weights.is_file() and model['Metadata']['SHA256'] == \
        zoo.sha256_file(str(weights))
    assert model['Weights'] == f"{model['Name']}-" \
        f"{model['Metadata']['SHA256'][:8]}.pth"
    assert model['Metadata']['Quick'] is True
    assert model['Metadata']['Command'].startswith(
        'python tools/demo.py --quick --methods random')
    listed = {r['Dataset']: r['Metrics'] for r in model['Results']}
    for split in ('same', 'swapped'):
        measured = summary['methods']['random'][split]
        assert listed[f'synthetic test_{split}'] == {
            k: round(100 * measured[k], 2) for k in ('R@1', 'R@5')}
    # A quick run does not touch the committed metafile.
    committed = zoo.load_metafile(
        str(REPO_ROOT / 'configs' / 'synthetic' / 'metafile.yml'))
    assert model['Name'] not in [m['Name'] for m in committed['Models']]


def test_regression_re_measures_the_published_numbers(tiny_zoo, tmp_path):
    work, published, model = tiny_zoo
    code, report = _run([published / 'metafile.yml', '--checkpoint-root',
                         published, '--data-cache', tmp_path / 'cache',
                         '--workers', '0', '--json', tmp_path / 'out.json'])
    assert code == 0, report
    assert report['failed'] == [] and report['passed'] == [model['Name']]
    record, = report['models']
    assert record['status'] == 'ok'
    listed = {(r['Dataset'], k): v for r in model['Results']
              for k, v in r['Metrics'].items()}
    measured = {(row['dataset'], row['metric']): row['measured']
                for row in record['rows']}
    assert measured == pytest.approx(listed, abs=1e-6)
    # The data were generated again from the listed keywords: the same
    # videos and annotation lists as the demo's.
    cache, = (tmp_path / 'cache').iterdir()
    for split in ('train', 'test_same', 'test_swapped'):
        assert (cache / f'{split}.txt').read_bytes() == \
            (work / 'data' / f'{split}.txt').read_bytes()


def test_damaged_missing_and_mislisted_checkpoints_fail(tiny_zoo, tmp_path):
    work, published, model = tiny_zoo
    root = tmp_path / 'ckpt'
    root.mkdir()
    good = published / model['Weights']
    entries = [copy.deepcopy(model) for _ in range(4)]
    names = ['flipped', 'perturbed', 'missing', 'mislisted']
    for entry, name in zip(entries, names):
        entry['Name'] = name
        entry['Weights'] = f'{name}/{good.name}'
        if name != 'missing':
            (root / name).mkdir()
            shutil.copy(good, root / entry['Weights'])
    data = bytearray((root / 'flipped' / good.name).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    (root / 'flipped' / good.name).write_bytes(bytes(data))
    saved = torch.load(good, weights_only=True)
    for value in saved['state_dict'].values():
        if value.is_floating_point():
            value.add_(0.01)
    torch.save(saved, root / 'perturbed' / good.name)
    entries[3]['Results'][1]['Metrics']['R@1'] += 10.0  # not what it scores
    code, report = _run([_write_metafile(tmp_path / 'm.yml', entries),
                         '--checkpoint-root', root, '--data-root',
                         work / 'data', '--workers', '0', '--json',
                         tmp_path / 'out.json'])
    assert code == 1
    status = {r['name']: r['status'] for r in report['models']}
    assert status == dict(flipped='corrupt', perturbed='corrupt',
                          missing='missing', mislisted='regression')
    assert report['failed'] == names and report['passed'] == []
    assert 'sha256 of' in report['models'][1]['message']
    bad, = [row for row in report['models'][3]['rows'] if not row['ok']]
    assert (bad['dataset'], bad['metric']) == ('synthetic test_swapped',
                                               'R@1')
    assert bad['listed'] - bad['measured'] == pytest.approx(10.0)
    assert tool.main([str(tmp_path / 'm.yml'), '--models', 'nothing']) == 2


def test_tolerances_parse_per_metric_and_for_all():
    args = tool.parse_args(['--tolerance', 'R@1=10.5', '2'])
    assert args.tolerances == {'R@1': 10.5, 'default': 2.0}
    rows = zoo.compare_metrics({'R@1': 30.0, 'R@5': 50.0},
                               {'R@1': 20.0, 'R@5': 52.5}, args.tolerances)
    assert [row['ok'] for row in rows] == [True, False]
    with pytest.raises(SystemExit):
        tool.parse_args(['--tolerance', 'R@1=a'])


def _fake_modelscope_source(path: Path) -> None:
    """A bare R(2+1)D-26 state dict (ModelScope's layout), all zeros."""
    from mmcmd.models.presets import CLIP_BACKBONES
    from mmcmd.models.utils import build_module
    from mmcmd.utils.checkpoint import model_shapes
    with torch.device('meta'):
        shapes = model_shapes(build_module(dict(
            CLIP_BACKBONES['r2plus1d-26'])))
    path.parent.mkdir(parents=True)
    torch.save({k: torch.zeros(()).expand(s) if s else
                torch.zeros((), dtype=torch.long) for k, s in shapes.items()},
               path)


def test_converted_entry_is_converted_and_loaded(tmp_path):
    model, = [m for m in zoo.list_models(zoo.find_metafiles(
        str(REPO_ROOT / 'configs'))) if m['Name'] ==
        'cmd_r2plus1d-26_modelscope-converted']
    root = tmp_path / 'ckpt'
    source = model['Metadata']['Converted From']
    metafile = _write_metafile(tmp_path / 'm.yml', [
        {k: v for k, v in model.items() if k != '_metafile'}])
    argv = [metafile, '--checkpoint-root', root, '--json',
            tmp_path / 'out.json']
    code, report = _run(argv)  # neither file present
    assert code == 1 and report['models'][0]['status'] == 'missing'
    _fake_modelscope_source(root / source['File'])
    code, report = _run(argv)
    assert code == 0, report
    record, = report['models']
    assert record['status'] == 'loaded'
    assert 'into VideoEmbedder' in record['message']
    converted = torch.load(root / model['Weights'], weights_only=True)
    assert converted['meta']['source'] == 'modelscope'
    assert all(k.startswith('backbone.') for k in converted['state_dict'])
    # A listed source hash that does not match is reported, not converted.
    (root / model['Weights']).unlink()
    model['Metadata']['Converted From']['SHA256'] = 'f' * 64
    _write_metafile(tmp_path / 'm.yml', [
        {k: v for k, v in model.items() if k != '_metafile'}])
    code, report = _run(argv)
    assert code == 1 and report['models'][0]['status'] == 'corrupt'
    assert not (root / model['Weights']).exists()


def test_two_gloo_processes_measure_what_one_does(tiny_zoo, tmp_path):
    work, published, model = tiny_zoo
    out = tmp_path / 'dist.json'
    result = run_tool([sys.executable, '-m', 'torch.distributed.run',
                       '--nproc_per_node', '2', '--master_port',
                       str(free_port()),
                       REPO_ROOT / 'tools' / 'analysis' /
                       'benchmark_regression.py', published / 'metafile.yml',
                       '--checkpoint-root', published, '--data-root',
                       work / 'data', '--launcher', 'pytorch', '--workers',
                       '0', '--json', out],
                      REPO_ROOT, timeout=300,
                      env=dict(OMP_NUM_THREADS='1'))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    record, = json.loads(out.read_text())['models']
    assert record['status'] == 'ok'
    listed = {(r['Dataset'], k): v for r in model['Results']
              for k, v in r['Metrics'].items()}
    assert {(row['dataset'], row['metric']): row['measured']
            for row in record['rows']} == pytest.approx(listed, abs=1e-6)
