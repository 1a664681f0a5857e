"""Checkpoint converters on fake checkpoints built from the published specs."""
import json
import os
from pathlib import Path

import pytest
import torch
from suite_utils import load_tool

import mmcmd  # noqa: F401
from mmcmd.apis import init_embedder
from mmcmd.apis.convert import detect_arch
from mmcmd.models.backbones import CMDResNet2Plus1d
from mmcmd.models.presets import cmd_model_cfg
from mmcmd.models.utils import build_module

REPO = Path(__file__).resolve().parents[2]
SPEC_CANDIDATES = [REPO / 'tests' / 'data' / 'specs',
                   REPO.parent / 'shared' / 'specs']
R2PLUS1D_CONFIG = str(REPO / 'configs' / 'embedding' /
                      'embedding_r2plus1d-26_112px.py')
# The official checkpoint's module prefixes and their mmcmd names, written
# out from the reference's documentation (independent of the converter).
OFFICIAL_PREFIXES = [
    ('rgb_backbone.', 'backbone.'), ('m_backbone.', 'motion_backbone.'),
    ('i_backbone.', 'keyframe_backbone.'), ('fc.', 'motion_head.fc.'),
    ('k_embedding.', 'motion_head.source_embedding.'),
    ('q_embedding.', 'motion_head.target_embedding.'),
    ('transformer.', 'motion_head.transformer.'),
    ('mq_head.', 'motion_head.query_proj.'),
    ('mk_head.', 'motion_head.key_proj.'),
    ('iq_head.', 'context_head.query_proj.'),
    ('ik_head.', 'context_head.key_proj.'),
]


def _spec(name: str) -> dict:
    for root in SPEC_CANDIDATES:
        if (root / name).is_file():
            return json.loads((root / name).read_text())
    pytest.skip(f'{name} not available')


def _tool(name: str):
    return load_tool(f'tools/convert/{name}.py')


def _fake_state(shapes: dict, seed: int = 0,
                random_prefix: str = '') -> dict:
    """Tensors of the given shapes: random under ``random_prefix`` (what a
    forward reads), elsewhere a distinct constant per key, stored as one
    expanded value (tiny files, still reveals swapped keys)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for i, (key, shape) in enumerate(shapes.items()):
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(i, dtype=torch.long)
        elif not key.startswith(random_prefix):
            state[key] = torch.tensor(float(i)).expand(shape)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = torch.randn(shape, generator=g) * 0.5
    return state


def _spec_shapes(arch: str) -> dict:
    return _spec('modelscope_backbones.json')[arch]['state_dict']


@pytest.mark.parametrize('arch,expected', [('r2plus1d_26', 'r2plus1d-26'),
                                           ('r3d_26', 'r3d-26'),
                                           ('c3d', 'c3d')])
def test_arch_detected_from_modelscope_keys(arch, expected):
    shapes = _spec_shapes(arch)
    state = {k: torch.empty(s, device='meta') for k, s in shapes.items()}
    assert detect_arch(state) == expected


@pytest.mark.parametrize('arch', ['r3d_26', 'c3d'])
def test_modelscope_conversion_is_strict_and_lossless(arch, tmp_path):
    state = _fake_state(_spec_shapes(arch), random_prefix='-')
    torch.save(state, tmp_path / 'pytorch_model.pt')
    out = tmp_path / 'converted.pth'
    assert _tool('modelscope_to_mmcmd').main(
        [str(tmp_path / 'pytorch_model.pt'), str(out)]) == 0
    converted = torch.load(out, weights_only=True)
    assert set(converted) == {'meta', 'state_dict'}
    assert converted['state_dict'].keys() == {f'backbone.{k}' for k in state}
    assert all(torch.equal(converted['state_dict'][f'backbone.{k}'], v)
               for k, v in state.items())


def test_modelscope_r2plus1d_output_equals_identity_loading(tmp_path, capsys):
    state = _fake_state(_spec_shapes('r2plus1d_26'), seed=1)
    torch.save(state, tmp_path / 'pytorch_model.pt')
    out = tmp_path / 'r2plus1d.pth'
    assert _tool('modelscope_to_mmcmd').main(
        [str(tmp_path / 'pytorch_model.pt'), str(out), '--arch',
         'r2plus1d_26']) == 0
    assert '26,507,471 parameters' in capsys.readouterr().out
    # Reference: the same tensors under their own names (ModelScope layout).
    with torch.device('meta'):
        reference = CMDResNet2Plus1d(depth=26).eval()
    reference.load_state_dict(state, strict=True, assign=True)
    clip = torch.randn(1, 3, 4, 32, 32, generator=torch.Generator()
                       .manual_seed(2))
    with torch.no_grad():
        expected = reference(clip).mean(dim=(2, 3, 4))
        embedder = init_embedder(R2PLUS1D_CONFIG, str(out))
        got = embedder(clip).mean(dim=(2, 3, 4))
        # Finetune path: backbone init_cfg Pretrained with prefix backbone.
        finetune = CMDResNet2Plus1d(depth=26, init_cfg=dict(
            type='Pretrained', checkpoint=str(out), prefix='backbone.'))
        finetune.init_weights()
        tuned = finetune.eval()(clip).mean(dim=(2, 3, 4))
    assert got.shape == (1, 2048)
    assert torch.equal(got, expected) and torch.equal(tuned, expected)


def test_modelscope_mismatch_is_reported(tmp_path, capsys):
    state = {k: torch.zeros(()).expand(s)
             for k, s in _spec_shapes('c3d').items()}
    del state['conv4b.weight']
    state['fc6.weight'] = torch.zeros(4096, 8192)
    state['bn1.weight'] = torch.zeros(32)
    torch.save(state, tmp_path / 'bad.pt')
    code = _tool('modelscope_to_mmcmd').main(
        [str(tmp_path / 'bad.pt'), str(tmp_path / 'out.pth'), '--arch', 'c3d'])
    err = capsys.readouterr().err
    assert code == 1 and not (tmp_path / 'out.pth').exists()
    for text in ('bad.pt', 'conv4b.weight', 'fc6.weight', 'bn1.weight'):
        assert text in err


def _official_to_mmcmd(key: str) -> str:
    for old, new in OFFICIAL_PREFIXES:
        if key.startswith(old):
            return new + key[len(old):]
    raise AssertionError(f'spec key {key} has no documented prefix')


def test_official_conversion_maps_every_tensor(tmp_path, capsys):
    spec = _spec('official_cmd_pretrain_r2plus1d26.json')
    state = _fake_state(spec['state_dict'], seed=3,
                        random_prefix='rgb_backbone.')
    # As saved under DDP and wrapped by the reference training script.
    torch.save({'epoch': 120, 'state_dict': {f'module.{k}': v
                                             for k, v in state.items()}},
               tmp_path / 'official.pth')
    out = tmp_path / 'cmd.pth'
    assert _tool('cmd_official_to_mmcmd').main(
        [str(tmp_path / 'official.pth'), str(out)]) == 0
    assert '72,126,991 parameters' in capsys.readouterr().out
    converted = torch.load(out, weights_only=True)
    expected = {_official_to_mmcmd(k): v for k, v in state.items()}
    assert converted['state_dict'].keys() == expected.keys()
    assert all(torch.equal(converted['state_dict'][k], v)
               for k, v in expected.items())
    # Strict load into the CMD model (meta device: names and shapes only).
    with torch.device('meta'):
        model = build_module(cmd_model_cfg('r2plus1d-26'))
    model.load_state_dict(converted['state_dict'], strict=True, assign=True)
    # The clip backbone embeds like the same tensors under official names.
    with torch.device('meta'):
        reference = CMDResNet2Plus1d(depth=26).eval()
    reference.load_state_dict({k[len('rgb_backbone.'):]: v
                               for k, v in state.items()
                               if k.startswith('rgb_backbone.')},
                              strict=True, assign=True)
    clip = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        embedder = init_embedder(R2PLUS1D_CONFIG, str(out))
        assert torch.equal(embedder(clip), reference(clip))


def test_official_unknown_prefix_and_shape_are_reported(tmp_path, capsys):
    spec = _spec('official_cmd_pretrain_r2plus1d26.json')['state_dict']
    state = {k: torch.zeros(()).expand(s) for k, s in spec.items()}
    state['q_embedding.weight'] = torch.empty(50, 512)
    torch.save({'model': state}, tmp_path / 'shape.pth')
    tool = _tool('cmd_official_to_mmcmd')
    assert tool.main([str(tmp_path / 'shape.pth'),
                      str(tmp_path / 'o.pth')]) == 1
    err = capsys.readouterr().err
    assert 'shape.pth' in err and 'motion_head.target_embedding' in err
    state['q_embedding.weight'] = torch.empty(49, 512)
    state['projector.weight'] = torch.empty(1)
    torch.save(state, tmp_path / 'extra.pth')
    assert tool.main([str(tmp_path / 'extra.pth'),
                      str(tmp_path / 'o.pth')]) == 1
    err = capsys.readouterr().err
    assert 'extra.pth' in err and 'projector.weight' in err


class _Payload:
    """Pickles to a call of os.system (what a crafted checkpoint does)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


@pytest.mark.parametrize('tool', ['modelscope_to_mmcmd',
                                  'cmd_official_to_mmcmd'])
def test_crafted_checkpoint_is_refused(tool, tmp_path, capsys):
    marker = tmp_path / 'pwned'
    torch.save({'conv1.weight': _Payload(str(marker))},
               tmp_path / 'evil.pt')
    assert _tool(tool).main([str(tmp_path / 'evil.pt'),
                             str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert 'Refused to load checkpoint' in err and 'evil.pt' in err
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()
