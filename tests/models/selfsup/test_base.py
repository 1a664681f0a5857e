"""The shape every self-supervisor shares: the base builds backbone, neck,
projector and head from cfg; embedders share the clip-model base; no loss
is defined among the self-supervisors; the helpers live in one module."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import torch

import mmcmd.models.selfsup as selfsup
from mmcmd.models import utils
from mmcmd.models.embedders import BaseEmbedder
from mmcmd.models.heads import ViewContrastHead
from mmcmd.models.necks import ClipMapFusion, ProjectionMLP
from mmcmd.models.selfsup.base import BaseClipModel, BaseSelfSupervisor

BACKBONE = dict(type='CMDResNet2Plus1d', depth=10, base_channels=4,
                out_indices=(2, 3))


def test_base_builds_every_part_from_cfg():
    torch.manual_seed(0)
    model = BaseSelfSupervisor(
        BACKBONE, neck=dict(type='ClipMapFusion'),
        projector=dict(type='ProjectionMLP', hidden_channels=8,
                       out_channels=4),
        head=dict(type='ViewContrastHead'), clip_shape=(8, 16, 16))
    assert isinstance(model.neck, ClipMapFusion)
    assert isinstance(model.projector, ProjectionMLP)
    assert model.projector[0].in_channels == 32  # from the meta-device run
    assert isinstance(model.head, ViewContrastHead)
    model.eval()
    clips = torch.randn(2, 3, 8, 16, 16)
    torch.testing.assert_close(model.encoder()(clips), model.project(clips))
    with pytest.raises(ValueError, match='clip_shape'):
        BaseSelfSupervisor(BACKBONE, neck=dict(type='ClipMapFusion'),
                           projector=dict(type='ProjectionMLP'))


def test_embedder_shares_the_clip_model_base():
    assert issubclass(BaseEmbedder, BaseClipModel)
    assert not issubclass(BaseEmbedder, BaseSelfSupervisor)
    for name in ('clips_of', 'extract_feat', 'forward', 'predict'):
        assert getattr(BaseEmbedder, name) is getattr(BaseClipModel, name)


def test_no_loss_is_defined_among_the_self_supervisors():
    for info in pkgutil.iter_modules(selfsup.__path__):
        module = importlib.import_module(f'{selfsup.__name__}.{info.name}')
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__
                    and issubclass(cls, torch.nn.Module)):
                assert issubclass(cls, BaseClipModel), cls


def test_helpers_live_in_models_utils():
    from mmcmd.models.embedders import base as embedder_base
    from mmcmd.models.selfsup import base, cmd, mlfo
    for module in (base, cmd, mlfo, embedder_base):
        for name in ('build_module', 'final_map', 'global_pool',
                     'pooled_embedding', 'probe_output_shapes'):
            if hasattr(module, name):
                assert getattr(module, name) is getattr(utils, name)
    assert utils.fill_cfg(dict(a=None, b=1), a=2, b=3) == dict(a=2, b=1)
