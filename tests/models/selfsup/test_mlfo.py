"""The MLFO self-supervisor: published sizes, neck, loss composition,
schedule flags, queue and prototypes in the checkpoint, predict mode."""
from __future__ import annotations

import io

import pytest
import torch
from suite_utils import REPO_ROOT

from mmcmd.models import MLFO
from mmcmd.models.losses.mlfo_losses import sinkhorn_knopp
from mmcmd.models.necks import MLFOLevelProjection, MLFOTemporalNeck
from mmcmd.models.utils import build_module

R3D18 = dict(type='R3DResNet', depth=18, temporal_pool=False,
             out_indices=(1, 2, 3))
TINY_BACKBONE = dict(type='CMDResNet2Plus1d', depth=10, base_channels=8,
                     out_indices=(1, 2, 3))


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny convolutions run fastest on one thread (and the 2 shared cores
    are not oversubscribed)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def tiny_model(**kwargs) -> MLFO:
    torch.manual_seed(0)
    cfg = dict(type='MLFO', backbone=TINY_BACKBONE, clip_shape=(16, 16, 16),
               out_channels=16, num_prototypes=5, queue_length=6)
    cfg.update(kwargs)
    return build_module(cfg)


def tiny_batch(videos: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(videos, 3, 3, 16, 16, 16, generator=g)


def test_r3d18_sizes_match_the_reference_measurement():
    with torch.device('meta'):
        model = build_module(dict(type='MLFO', backbone=R3D18))
    assert count(model.backbone) == 33_203_904
    assert [count(m) for m in model.neck.excite.values()] == [2_392, 8_880]
    assert [count(h.project) for h in model.level_necks] == [
        33_024, 98_688, 328_320]
    assert all(count(h) == 3 * count(h.project) for h in model.level_necks)
    assert count(model.global_neck) == 329_344
    assert count(model.proto_head) == 128_000
    # the reference's 35,257,816 less its unused backbone fc (205,200)
    assert count(model) == 35_052_616
    assert tuple(model.proto_head.queue.shape) == (1024, 2, 1000)
    with torch.device('meta'):
        maps = model.backbone(torch.empty(2, 3, 16, 112, 112))
        levels = model.neck(maps)
    assert [tuple(m.shape[1:]) for m in maps] == [
        (128, 8, 14, 14), (256, 4, 7, 7), (512, 2, 4, 4)]
    assert [tuple(x.shape) for x in levels] == [
        (4, 128, 8), (4, 256, 4), (2, 512, 2)]


def test_number_of_prototypes_sizes_queue_and_prototypes():
    with torch.device('meta'):
        model = build_module(dict(type='MLFO', backbone=R3D18,
                                  num_prototypes=200))
    assert tuple(model.proto_head.queue.shape) == (1024, 2, 200)
    assert model.proto_head.num_prototypes == 200


def test_neck_reversed_half_is_the_time_flipped_input():
    neck = MLFOTemporalNeck(in_channels=(8, 16), time_steps=(4, 2),
                            excite_levels=(0, ), reduction=4).eval()
    g = torch.Generator().manual_seed(2)
    x = (torch.randn(2, 8, 4, 5, 5, generator=g),
         torch.randn(2, 16, 2, 3, 3, generator=g))
    for p in neck.parameters():  # non-trivial BN statistics and gates
        torch.nn.init.normal_(p, generator=g)
    low, high = neck(x)
    assert low.shape == (4, 8, 4) and high.shape == (2, 16, 2)
    flipped, _ = neck((x[0].flip(2), x[1]))
    torch.testing.assert_close(low[2:], flipped[:2])
    torch.testing.assert_close(high, x[1].mean(dim=(3, 4)))
    # motion excitation changes the map (it is not the identity)
    assert not torch.allclose(low[:2], x[0].mean(dim=(3, 4)))


def test_loss_keys_follow_the_schedule_and_levels_are_weighted():
    model = tiny_model().eval()
    clips = tiny_batch()
    base = {'loss_instance', 'loss_proto', 'loss_ts_low', 'loss_ts_mid',
            'loss_ts_high', 'loss_motion_low', 'loss_motion_mid'}
    losses = model.loss({'imgs': clips})
    assert set(losses) == base
    model.set_schedule(use_graph=True, use_queue=False,
                       freeze_prototypes=False)
    graph = model.loss({'imgs': clips})
    assert set(graph) == base | {'loss_graph_low', 'loss_graph_mid',
                                 'loss_graph_high'}
    for key in base:
        torch.testing.assert_close(graph[key], losses[key])
    unweighted = tiny_model(level_weights=(1.0, 1.0, 1.0)).eval()
    unweighted.set_schedule(True, False, False)
    plain = unweighted.loss({'imgs': clips})
    for level, weight in (('low', 0.3), ('mid', 0.5), ('high', 1.0)):
        for kind in ('ts', 'graph') + (('motion', ) if level != 'high'
                                       else ()):
            key = f'loss_{kind}_{level}'
            torch.testing.assert_close(graph[key], weight * plain[key])
    # the proto loss is 0.5 x SwAV of the global-head scores
    swav = build_module(dict(type='MLFOSwAVLoss'))
    with torch.no_grad():
        maps = model.neck(model.backbone(clips.transpose(0, 1).flatten(0, 1)))
        c1, c2, _ = maps[2].split(3)
        s1 = model.proto_head.scores(model.global_neck(c1))
        s2 = model.proto_head.scores(model.global_neck(c2))
    torch.testing.assert_close(losses['loss_proto'], 0.5 * swav(s1, s2)[0])


def test_timestamp_head_needs_two_time_steps():
    model = tiny_model(clip_shape=(8, 16, 16),
                       neck=dict(type='MLFOTemporalNeck',
                                 time_steps=(4, 2, 1))).eval()
    losses = model.loss({'imgs': tiny_batch()[:, :, :, :8]})
    assert 'loss_ts_high' not in losses and 'loss_ts_mid' in losses


def test_training_step_updates_queue_and_normalises_prototypes():
    model = tiny_model().train()
    old_queue = model.proto_head.queue.clone()
    model.set_schedule(use_graph=False, use_queue=True,
                       freeze_prototypes=True)
    losses = model.loss({'imgs': tiny_batch()})
    norms = model.proto_head.prototypes.weight.norm(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    # FIFO: the 3 new score rows in front, the old rows shifted back
    torch.testing.assert_close(model.proto_head.queue[3:], old_queue[:3])
    assert not torch.allclose(model.proto_head.queue[:3], old_queue[:3])
    assert model.proto_head.queue[:3].abs().max() <= 1 + 1e-6  # cosines
    # frozen prototypes: no gradient reaches them, the rest trains
    sum(losses.values()).backward()
    assert model.proto_head.prototypes.weight.grad is None
    assert model.global_neck.mlp[0].weight.grad is not None
    model.zero_grad(set_to_none=True)
    model.set_schedule(use_graph=False, use_queue=True,
                       freeze_prototypes=False)
    sum(model.loss({'imgs': tiny_batch()}).values()).backward()
    assert model.proto_head.prototypes.weight.grad.abs().sum() > 0


def test_queue_takes_part_in_sinkhorn():
    model = tiny_model().eval()
    clips = tiny_batch()
    without = model.loss({'imgs': clips})['loss_proto']
    model.set_schedule(use_graph=False, use_queue=True,
                       freeze_prototypes=False)
    with_queue = model.loss({'imgs': clips})['loss_proto']
    assert not torch.allclose(without, with_queue)
    # the codes are Sinkhorn over [queue; batch]: rebuild them by hand
    with torch.no_grad():
        maps = model.neck(model.backbone(clips.transpose(0, 1).flatten(0, 1)))
        c1, c2, _ = maps[2].split(3)
        s1 = model.proto_head.scores(model.global_neck(c1))
        s2 = model.proto_head.scores(model.global_neck(c2))
    queue = model.proto_head.queue
    q1 = sinkhorn_knopp(torch.cat([queue[:, 0], s1]))[6:].float()
    q2 = sinkhorn_knopp(torch.cat([queue[:, 1], s2]))[6:].float()
    expected = -0.25 * ((q2 * torch.log_softmax(s1 / 0.1, 1)).sum(1)
                        + (q1 * torch.log_softmax(s2 / 0.1, 1)).sum(1)).mean()
    torch.testing.assert_close(with_queue, expected)


def test_queue_and_prototypes_survive_a_weights_only_checkpoint():
    model = tiny_model().train()
    model.loss({'imgs': tiny_batch()})
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert {'proto_head.queue', 'proto_head.prototypes.weight'} <= set(state)
    fresh = tiny_model(queue_length=6)
    torch.manual_seed(5)
    fresh.proto_head.queue.normal_()
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.proto_head.queue,
                               model.proto_head.queue)
    torch.testing.assert_close(fresh.proto_head.prototypes.weight,
                               model.proto_head.prototypes.weight)


def test_predict_and_tensor_modes():
    model = tiny_model().eval()
    clips = tiny_batch(2)[:, 0]  # (B, 3, T, H, W): one clip per video
    maps = model(clips, mode='tensor')
    assert len(maps) == 3
    samples = model(clips, mode='predict')
    expected = maps[2].mean(dim=(2, 3, 4))
    for sample, vector in zip(samples, expected):
        torch.testing.assert_close(sample.embedding, vector)
    # several clips per video: the mean of their embeddings
    multi = model(tiny_batch(2), mode='predict')
    per_clip = model(tiny_batch(2).flatten(0, 1), mode='predict')
    torch.testing.assert_close(
        multi[0].embedding,
        torch.stack([s.embedding for s in per_clip[:3]]).mean(0))


def test_bad_inputs_are_refused():
    model = tiny_model()
    with pytest.raises(ValueError, match='MLFOViews'):
        model.loss({'imgs': tiny_batch()[:, :2]})
    with pytest.raises(ValueError, match='3 maps'):
        build_module(dict(type='MLFO', clip_shape=(16, 16, 16),
                          backbone=dict(TINY_BACKBONE, out_indices=(2, 3))))
    assert isinstance(model.level_necks[0], MLFOLevelProjection)


def test_synthetic_checkpoint_embeds_like_the_demo_embedding_config():
    from mmengine.config import Config

    from mmcmd.models import MLFO as MLFOClass
    configs = REPO_ROOT / 'configs' / 'synthetic'
    mlfo_cfg = Config.fromfile(
        str(configs / 'mlfo_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py'))
    embed_cfg = Config.fromfile(
        str(configs / 'retrieval_r2plus1d-10_8x2x4_synthetic-test-same.py'))
    torch.manual_seed(3)
    model = build_module(mlfo_cfg.model).eval()
    assert isinstance(model, MLFOClass)
    # the three levels of the demo encoder (stages 2, 3, 4 at 8x64x64)
    with torch.no_grad():
        maps = model.backbone(torch.zeros(1, 3, 8, 64, 64))
    assert [tuple(m.shape[1:]) for m in maps] == [
        (32, 4, 8, 8), (64, 2, 4, 4), (128, 1, 2, 2)]
    embedder = build_module(embed_cfg.model).eval()
    embedder.load_state_dict(model.state_dict(), strict=False)
    clips = torch.randn(2, 4, 3, 8, 64, 64,
                        generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ours = model(clips, mode='predict')
        theirs = embedder(clips, mode='predict')
    for a, b in zip(ours, theirs):
        assert a.embedding.shape == (128, )
        torch.testing.assert_close(a.embedding, b.embedding)


def global_head_by_hand(head, x: torch.Tensor) -> torch.Tensor:
    """MLFOGlobalProjection in train mode written out: temporal mean, Linear,
    BatchNorm with the batch's mean and biased variance, ReLU, Linear, L2."""
    lin1, bn, _, lin2 = head.mlp
    h = x.mean(dim=2) @ lin1.weight.t() + lin1.bias
    mean = h.mean(dim=0)
    var = ((h - mean) ** 2).mean(dim=0)
    h = (h - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
    out = h.clamp_min(0) @ lin2.weight.t() + lin2.bias
    return out / out.norm(dim=1, keepdim=True)


def test_global_head_batch_joint_normalises_the_three_clips_together():
    """'joint' (model.py:99-101, 114): one BatchNorm batch of clip 1, clip 2
    and the global clip; 'separate': one batch per clip."""
    g = torch.Generator().manual_seed(5)
    joint = tiny_model(global_head_batch='joint').train()
    separate = tiny_model().train()
    separate.load_state_dict(joint.state_dict())
    channels = joint.global_neck.mlp[0].in_features
    # clips with different statistics, so the batch statistics differ
    c1, c2, glob = (torch.randn(4, channels, 2, generator=g) * scale + shift
                    for scale, shift in ((1.0, 0.0), (2.0, 1.0), (0.5, -1.0)))
    e1, e2 = joint.global_embeddings(c1, c2, glob)
    with torch.no_grad():
        expected = global_head_by_hand(joint.global_neck,
                                       torch.cat([c1, c2, glob]))
    torch.testing.assert_close(e1, expected[:4])
    torch.testing.assert_close(e2, expected[4:8])
    s1, s2 = separate.global_embeddings(c1, c2, glob)
    with torch.no_grad():
        torch.testing.assert_close(
            s1, global_head_by_hand(separate.global_neck, c1))
        torch.testing.assert_close(
            s2, global_head_by_hand(separate.global_neck, c2))
    assert not torch.allclose(e1, s1, atol=1e-3)
    assert not torch.allclose(e2, s2, atol=1e-3)
    # BatchNorm's running statistics follow the same batches
    bn_joint, bn_separate = joint.global_neck.mlp[1], separate.global_neck.mlp[1]
    assert int(bn_joint.num_batches_tracked) == 1
    assert int(bn_separate.num_batches_tracked) == 2
    # eval mode uses the running statistics: both modes agree
    joint.eval()
    joint.global_neck.load_state_dict(separate.global_neck.state_dict())
    separate.eval()
    for a, b in zip(joint.global_embeddings(c1, c2, glob),
                    separate.global_embeddings(c1, c2, glob)):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match='global_head_batch'):
        tiny_model(global_head_batch='both')


def test_loss_runs_the_global_head_once_on_three_clips_when_joint():
    for mode, expected in (('joint', [9]), ('separate', [3, 3])):
        model = tiny_model(global_head_batch=mode).train()
        rows = []
        hook = model.global_neck.register_forward_hook(
            lambda module, args, out: rows.append(out.shape[0]))
        model.loss({'imgs': tiny_batch()})
        hook.remove()
        assert rows == expected, mode


def test_queue_rows_reference_runs_sinkhorn_over_queue_length_rows():
    """queue_rows='reference' (train.py:252-254): Sinkhorn over the newest
    L - M queue rows and the batch, L rows in all."""
    model = tiny_model(proto_loss=dict(type='MLFOSwAVLoss', loss_weight=0.5,
                                       queue_rows='reference')).eval()
    model.set_schedule(use_graph=False, use_queue=True,
                       freeze_prototypes=False)
    clips = tiny_batch()
    loss = model.loss({'imgs': clips})['loss_proto']
    with torch.no_grad():
        maps = model.neck(model.backbone(clips.transpose(0, 1).flatten(0, 1)))
        c1, c2, _ = maps[2].split(3)
        s1 = model.proto_head.scores(model.global_neck(c1))
        s2 = model.proto_head.scores(model.global_neck(c2))
    # 6 queue rows, 3 videos: the 3 newest queue rows (the front) + batch
    q1 = sinkhorn_knopp(torch.cat([model.proto_head.queue[:3, 0], s1]))[3:].float()
    q2 = sinkhorn_knopp(torch.cat([model.proto_head.queue[:3, 1], s2]))[3:].float()
    expected = -0.25 * ((q2 * torch.log_softmax(s1 / 0.1, 1)).sum(1)
                        + (q1 * torch.log_softmax(s2 / 0.1, 1)).sum(1)).mean()
    torch.testing.assert_close(loss, expected)


def test_published_configs_use_the_reference_switches():
    from mmengine.config import Config
    for path in sorted((REPO_ROOT / 'configs' / 'mlfo').glob('mlfo_*.py')):
        model = Config.fromfile(str(path)).model
        assert model.global_head_batch == 'joint', path.name
        assert model.proto_loss.queue_rows == 'reference', path.name
        for key in ('instance_loss', 'motion_loss', 'graph_loss'):
            assert model[key].gather_grad == 'reference', (path.name, key)
