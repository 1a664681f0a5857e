"""mmcmd.utils.zoo: metafiles, checks; the committed metafiles.

Publishing (tools/deployment/publishing.py) is tested in
tests/tools/test_publish_model.py.
"""
import os
from pathlib import Path

import pytest
import torch
from suite_utils import REPO_ROOT

from mmcmd.utils import zoo

METAFILES = zoo.find_metafiles(str(REPO_ROOT / 'configs'))


def _checkpoint(path: Path, seed: int = 0) -> dict:
    """A small training-like checkpoint (optimizer state to strip)."""
    torch.manual_seed(seed)
    model = torch.nn.Conv3d(3, 4, 3)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    torch.save(dict(meta=dict(epoch=3, seed=seed), state_dict=state,
                    optimizer=dict(state={}, param_groups=[])), path)
    return state


# ------------------------------------------------------ committed metafiles
def test_metafiles_are_found():
    names = {os.path.relpath(p, REPO_ROOT) for p in METAFILES}
    assert {'configs/cmd/metafile.yml',
            'configs/synthetic/metafile.yml'} <= names


@pytest.mark.parametrize('path', METAFILES,
                         ids=[os.path.relpath(p, REPO_ROOT)
                              for p in METAFILES])
def test_no_result_without_weights_and_command(path):
    """A listed number must come from this code with a listed file: no
    paper numbers in Results."""
    for model in zoo.load_metafile(path).get('Models') or []:
        results = [r for r in model.get('Results') or [] if r.get('Metrics')]
        if model.get('Weights'):
            assert (REPO_ROOT / model['Config']).is_file(), model['Name']
        if not results:
            continue
        metadata = model.get('Metadata') or {}
        assert model.get('Weights'), model['Name']
        assert str(metadata.get('Command', '')).startswith('python tools/')
        for key in ('Commit', 'Machine', 'Date', 'SHA256'):
            assert metadata.get(key), (model['Name'], key)
        assert not metadata.get('Quick'), 'smoke-run numbers are listed'
        assert zoo.HASH_IN_NAME.search(model['Weights']).group(1) == \
            metadata['SHA256'][:8]
        for result in results:
            assert (REPO_ROOT / result['Test Config']).is_file()
            for value in result['Metrics'].values():
                assert 0 <= value <= 100


def test_converted_entries_name_their_source_and_converter():
    converted = [m for m in zoo.list_models(METAFILES)
                 if (m.get('Metadata') or {}).get('Converted From')]
    assert {m['Name'] for m in converted} >= {
        'cmd_r2plus1d-26_modelscope-converted',
        'cmd_r2plus1d-26_official-pretrain-converted'}
    for model in converted:
        source = model['Metadata']['Converted From']
        assert source['Converter'] in ('modelscope', 'cmd_official')
        assert 'SHA256' in source  # null when unknown, never left out
        assert source['SHA256'] is None or len(source['SHA256']) == 64
        assert source['Command'].startswith('python tools/convert/')
        assert source['File'] in source['Command']
        assert model['Weights'] in source['Command']
        assert not model.get('Results')


# ------------------------------------------------------------ metafiles
def test_duplicate_names_across_metafiles_are_refused(tmp_path):
    for name in ('one.yml', 'two.yml'):
        (tmp_path / name).write_text('Models:\n- {Name: same}\n')
    with pytest.raises(zoo.ZooError, match="'same' is listed in"):
        zoo.list_models([str(tmp_path / 'one.yml'),
                         str(tmp_path / 'two.yml')])


# ------------------------------------------------------------ checking
def test_verify_checkpoint_catches_flipped_bytes_and_truncation(tmp_path):
    state = _checkpoint(tmp_path / 'src.pth')
    digest = zoo.sha256_file(str(tmp_path / 'src.pth'))
    final = str(tmp_path / f'm-{digest[:8]}.pth')
    os.rename(tmp_path / 'src.pth', final)
    loaded = zoo.verify_checkpoint(final)
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    data = bytearray(Path(final).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(final).write_bytes(bytes(data))
    with pytest.raises(zoo.ZooError, match='^corrupt: sha256 of'):
        zoo.verify_checkpoint(final)
    # A name without a hash: a truncated file is caught when loading, and
    # a listed SHA-256 is compared in full.
    plain = tmp_path / 'plain.pth'
    _checkpoint(tmp_path / 'src.pth')
    plain.write_bytes(Path(tmp_path / 'src.pth').read_bytes()[:200])
    with pytest.raises(zoo.ZooError, match='^corrupt: .* does not load'):
        zoo.verify_checkpoint(str(plain))
    with pytest.raises(zoo.ZooError, match='the metafile lists'):
        zoo.verify_checkpoint(str(plain), '0' * 64)
    with pytest.raises(zoo.ZooError, match='^missing: '):
        zoo.verify_checkpoint(str(tmp_path / 'absent-0123abcd.pth'))


def test_resolve_weights(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    try:
        assert zoo.resolve_weights('https://host/a/b/m-0123abcd.pth?x=1',
                                   '/root') == str(
            tmp_path / 'hub' / 'checkpoints' / 'm-0123abcd.pth')
    finally:
        torch.hub.set_dir(old)
    assert zoo.resolve_weights('sub/m.pth', '/ckpt') == '/ckpt/sub/m.pth'
    assert zoo.resolve_weights('/abs/m.pth', '/ckpt') == '/abs/m.pth'


def test_compare_metrics_against_a_plain_reference():
    listed = {'R@1': 78.0, 'R@5': 92.0, 'R@10': 95.0}
    measured = {'R@1': 78.5, 'R@5': 91.4, 'R@50': 99.0}
    rows = zoo.compare_metrics(listed, measured, {'R@5': 0.7})
    expected = []
    for metric, value in listed.items():
        tol = 0.7 if metric == 'R@5' else 0.5
        got = measured.get(metric)
        expected.append(dict(metric=metric, listed=value, measured=got,
                             tolerance=tol,
                             ok=got is not None and abs(got - value) <= tol))
    assert rows == expected
    assert [r['ok'] for r in rows] == [True, True, False]
    rows = zoo.compare_metrics(listed, measured, {'default': 0.1})
    assert [r['ok'] for r in rows] == [False, False, False]


def test_git_commit_and_machine(tmp_path):
    assert zoo.git_commit(str(tmp_path)) == 'unknown'  # not a repository
    commit = zoo.git_commit(str(REPO_ROOT))
    assert commit == 'unknown' or len(commit) == 40
    assert f'{os.cpu_count()} CPU cores' in zoo.machine_description()
