"""DSM and DSM(Triplet): losses against brute-force references, the momentum
encoder and the key queue (checkpointed, resumed), 2 gloo processes against
1, parameter counts, and training through tools/train.py."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from dist_dsm_worker import PER_RANK, WORLD, features, new_queue_loss, worker
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from suite_utils import REPO_ROOT, run_tool

from mmcmd.models.losses import DSMTripletLoss

TINY_BACKBONE = dict(type='CMDResNet2Plus1d', depth=10, base_channels=4,
                     out_indices=(2, 3))


def tiny(kind: str, **kwargs):
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(
            type=kind, backbone=TINY_BACKBONE,
            neck=dict(type='ClipMapFusion'), clip_shape=(8, 16, 16),
            out_channels=8, **kwargs))
    model.init_weights()
    return model.train()


def dot(a, b) -> float:
    return sum(float(x) * float(y) for x, y in zip(a, b))


def reference_dsm_loss(q, k, queue, n, tau) -> float:
    """Mean of -log softmax([q.k | q.queue_j | q.n] / tau)[0], by loops."""
    total = 0.0
    for i in range(len(q)):
        logits = ([dot(q[i], k[i]) / tau] +
                  [dot(q[i], row) / tau for row in queue] +
                  [dot(q[i], n[i]) / tau])
        top = max(logits)
        log_norm = top + math.log(sum(math.exp(v - top) for v in logits))
        total += log_norm - logits[0]
    return total / len(q)


def reference_triplet(q, k, n, margin=0.5) -> float:
    """mean_i max(|q_i - k_i| - |q_i - n_j(i)| + margin, 0) for j = i and
    for the mirrored j = B - 1 - i, summed; by loops."""
    def dist(a, b):
        return math.sqrt(sum((float(x) - float(y)) ** 2
                             for x, y in zip(a, b)))
    total = 0.0
    for mirror in (False, True):
        for i in range(len(q)):
            j = len(q) - 1 - i if mirror else i
            total += max(dist(q[i], k[i]) - dist(q[i], n[j]) + margin,
                         0.0) / len(q)
    return total


def test_dsm_loss_and_queue_equal_brute_force():
    torch.manual_seed(0)
    model = tiny('DSM', queue_size=6, temperature=0.07, momentum=0.9)
    for step, batch in enumerate((4, 4)):
        clips = torch.randn(batch, 3, 3, 8, 16, 16)
        queue = model.head.loss_module.queue.clone()
        losses = model.loss(dict(imgs=clips))
        with torch.no_grad():  # the same passes (train-mode BN) again
            q = model.project(clips[:, 0])
            k = model.momentum_encoder(clips[:, 1])
            n = model.project(clips[:, 2])
        np.testing.assert_allclose(q.norm(dim=1), 1.0, rtol=1e-5)
        expected = reference_dsm_loss(q.tolist(), k.tolist(),
                                      queue.tolist(), n.tolist(), 0.07)
        assert losses['loss_dsm'].item() == pytest.approx(expected,
                                                          rel=1e-4)
        acc = np.mean([dot(q[i], k[i]) > max(
            [dot(q[i], r) for r in queue] + [dot(q[i], n[i])])
            for i in range(batch)])
        assert losses['acc_dsm'].item() == pytest.approx(acc)
        # FIFO: the batch's keys at the pointer, wrapping around (6 rows)
        rows = [(4 * step + i) % 6 for i in range(4)]
        torch.testing.assert_close(model.head.loss_module.queue[rows], k)
        kept = [r for r in range(6) if r not in rows]
        torch.testing.assert_close(model.head.loss_module.queue[kept],
                                   queue[kept])
        assert model.head.loss_module.queue_ptr.item() == (4 * (step + 1)) % 6
    losses['loss_dsm'].backward()
    assert model.backbone.conv1_s.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.momentum_encoder.parameters())


@pytest.mark.parametrize('momentum', [0.9, 0.999])
def test_momentum_encoder_is_a_parameter_ema(momentum):
    """mmengine's EMA with momentum 1 - m is the reference update
    k = m * k + (1 - m) * q of every parameter (0.999: the released m)."""
    torch.manual_seed(0)
    model = tiny('DSM', queue_size=8, momentum=momentum)
    key_encoder = model.momentum_encoder
    assert key_encoder.momentum == pytest.approx(1 - momentum)
    for key, query in zip(key_encoder.module.parameters(),
                          model.encoder().parameters()):
        assert torch.equal(key, query)  # copied after init_weights
    optim = torch.optim.SGD([p for p in model.parameters()
                             if p.requires_grad], lr=0.5)
    clips = torch.randn(2, 3, 3, 8, 16, 16)
    for _ in range(2):  # the first update copies, the second averages
        optim.zero_grad()
        model.loss(dict(imgs=clips))['loss_dsm'].backward()
        optim.step()
    before = [t.clone() for t in key_encoder.module.parameters()]
    sources = [s.clone() for s in model.encoder().parameters()]
    assert not all(torch.equal(b, s) for b, s in zip(before, sources))
    model.loss(dict(imgs=clips))
    for now, old, source in zip(key_encoder.module.parameters(), before,
                                sources):
        torch.testing.assert_close(now, momentum * old
                                   + (1 - momentum) * source)
    assert not torch.equal(key_encoder.module[-1].fc.weight,
                           model.projector.fc.weight)
    assert all(not p.requires_grad for p in key_encoder.parameters())
    # eval mode: no update, no enqueue
    model.eval()
    head = key_encoder.module[-1].fc.weight.clone()
    ptr = model.head.loss_module.queue_ptr.clone()
    model.loss(dict(imgs=clips))
    assert torch.equal(key_encoder.module[-1].fc.weight, head)
    assert torch.equal(model.head.loss_module.queue_ptr, ptr)


def test_queue_and_momentum_encoder_resume_from_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = tiny('DSM', queue_size=5)
    first, second = (torch.randn(2, 3, 3, 8, 16, 16) for _ in range(2))
    model.loss(dict(imgs=first))
    torch.save(model.state_dict(), tmp_path / 'dsm.pth')
    state = torch.load(tmp_path / 'dsm.pth', weights_only=True)
    assert {'head.loss_module.queue', 'head.loss_module.queue_ptr',
            'momentum_encoder.steps',
            'momentum_encoder.module.2.fc.weight'} <= set(state)
    assert any(k.startswith('momentum_encoder.module.0.') for k in state)
    torch.manual_seed(1)
    resumed = tiny('DSM', queue_size=5)
    resumed.load_state_dict(state)
    torch.testing.assert_close(resumed.head.loss_module.queue,
                               model.head.loss_module.queue)
    assert resumed.head.loss_module.queue_ptr.item() == 2
    expected = model.loss(dict(imgs=second))['loss_dsm']
    got = resumed.loss(dict(imgs=second))['loss_dsm']
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize('batch', [3, 4])  # odd: the middle keeps its own
def test_triplet_loss_equals_brute_force(batch):
    torch.manual_seed(0)
    model = tiny('DSMTriplet')
    clips = torch.randn(batch, 3, 3, 8, 16, 16)
    losses = model.loss(dict(imgs=clips))
    with torch.no_grad():
        q, k, n = (model.project(clips[:, v]) for v in range(3))
    expected = reference_triplet(q.tolist(), k.tolist(), n.tolist())
    assert expected > 0
    assert losses['loss_triplet'].item() == pytest.approx(expected,
                                                          abs=1e-5)
    closer = ((q - k).norm(dim=1) < (q - n).norm(dim=1)).float().mean()
    assert losses['acc_triplet'].item() == pytest.approx(closer.item())
    losses['loss_triplet'].backward()
    assert model.backbone.conv1_s.weight.grad.abs().sum() > 0
    assert not hasattr(model, 'momentum_encoder')


def test_views_are_required_and_predict_pools_the_query_backbone():
    model = tiny('DSM', queue_size=4)
    with pytest.raises(ValueError, match='DSMViews'):
        model.loss(dict(imgs=torch.randn(2, 2, 3, 8, 16, 16)))
    model.eval()
    clips = torch.randn(2, 3, 3, 8, 16, 16)  # 3 clips per video
    samples = model.predict(clips)
    with torch.no_grad():
        per_clip = model.backbone(clips.flatten(0, 1))[-1].mean((2, 3, 4))
    torch.testing.assert_close(torch.stack([s.embedding for s in samples]),
                               per_clip.view(2, 3, -1).mean(1))
    maps = model(torch.randn(2, 3, 8, 16, 16), mode='tensor')
    assert [tuple(m.shape) for m in maps] == [(2, 16, 2, 1, 1),
                                              (2, 32, 1, 1, 1)]


def meta_model(cfg: dict):
    with torch.device('meta'), DefaultScope.overwrite_default_scope(
            'mmaction'):
        return MODELS.build(cfg)


def count(params) -> int:
    return sum(p.numel() for p in params)


def test_parameter_counts_with_the_reference_encoders():
    # DSM(Triplet) with I3D: the released model's 12,287,264 + 131,200
    i3d = meta_model(dict(type='DSMTriplet', backbone=dict(
        type='InceptionI3D'), clip_shape=(16, 224, 224)))
    assert count(i3d.backbone.parameters()) == 12_287_264
    assert count(i3d.parameters()) == 12_287_264 + 1024 * 128 + 128
    # DSM with C3D: query and momentum encoders, only the query trained
    c3d = meta_model(dict(type='DSM', backbone=dict(type='CMDC3D'),
                          clip_shape=(16, 112, 112)))
    encoder = 27_661_440 + 512 * 128 + 128
    assert count(c3d.parameters()) == 2 * encoder
    assert count(p for p in c3d.parameters() if p.requires_grad) == encoder
    assert tuple(c3d.head.loss_module.queue.shape) == (3569, 128)
    # an mmaction2 backbone as encoder (ResNet3d-18: 512 channels)
    r3d = meta_model(dict(type='DSM', backbone=dict(
        type='ResNet3d', depth=18, pretrained=None, pretrained2d=False),
        clip_shape=(16, 112, 112)))
    assert r3d.projector.fc.in_features == 512


def test_mmaction2_backbone_trains_as_encoder():
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(
            type='DSMTriplet', clip_shape=(8, 16, 16), out_channels=8,
            backbone=dict(type='ResNet3d', depth=18, base_channels=4,
                          pretrained=None, pretrained2d=False)))
    model.init_weights()
    model.train()
    loss = model.loss(dict(imgs=torch.randn(2, 3, 3, 8, 16, 16)))
    loss['loss_triplet'].backward()
    assert torch.isfinite(loss['loss_triplet'])
    assert model.backbone.conv1.conv.weight.grad.abs().sum() > 0
    assert model.projector.fc.in_features == 32


def test_two_processes_equal_one_process_on_the_whole_batch(tmp_path):
    """Queue InfoNCE (two steps, the second with the gathered keys of the
    first in the queue) and triplet (mirrored negatives across ranks)."""
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path)),
             nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f'{r}.pt', weights_only=True)
             for r in range(WORLD)]

    def whole(step):
        parts = [features(r, step) for r in range(WORLD)]
        return [torch.cat([p[i] for p in parts]).requires_grad_(True)
                for i in range(3)]

    contrast = new_queue_loss()
    for step in range(2):
        q, k, n = whole(step)
        loss, _ = contrast(q, k, n)
        loss.backward()
        mean = sum(r[f'loss{step}'] for r in ranks) / WORLD
        assert mean.item() == pytest.approx(loss.item(), rel=1e-6)
        for r, out in enumerate(ranks):  # DDP averages over ranks
            rows = slice(r * PER_RANK, (r + 1) * PER_RANK)
            torch.testing.assert_close(out[f'q_grad{step}'] / WORLD,
                                       q.grad[rows])
            torch.testing.assert_close(out[f'n_grad{step}'] / WORLD,
                                       n.grad[rows])
    for out in ranks:  # every rank holds the whole batch's keys
        torch.testing.assert_close(out['queue'], contrast.queue)
        assert out['ptr'].item() == contrast.queue_ptr.item() == 4
    q, k, n = whole(5)
    loss = DSMTripletLoss(0.5, 2.0, 1.0)(q, k, n)
    loss.backward()
    mean = sum(r['triplet'] for r in ranks) / WORLD
    assert mean.item() == pytest.approx(loss.item(), rel=1e-6)
    for r, out in enumerate(ranks):
        rows = slice(r * PER_RANK, (r + 1) * PER_RANK)
        for grads, full in zip(out['grads'], (q.grad, k.grad, n.grad)):
            torch.testing.assert_close(grads / WORLD, full[rows])
    assert n.grad[:PER_RANK].abs().sum() > 0


# ------------------------------------------------------------ tools/train
TRAIN = str(REPO_ROOT / 'tools' / 'train.py')
UCF_CONFIG = str(REPO_ROOT / 'configs' / 'dsm' /
                 'dsm_i3d_1xb3-32x4x1-100e_ucf101-rgb.py')
#: the UCF101 config shrunk to the tiny videos: 4-frame clips at 32 x 32,
#: an I3D of base width 8, a 4-key queue, batch 2, no workers
TINY_UCF = [
    'model.backbone.base_channels=8', 'model.queue_size=4',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.ann_file=data/tiny/train.txt',
    'train_dataloader.dataset.data_prefix.video=data/tiny/videos',
    'train_dataloader.dataset.pipeline.1.clip_len=4',
    'train_dataloader.dataset.pipeline.3.transforms.1.scale=36',
    'train_dataloader.dataset.pipeline.3.transforms.2.size=32',
    'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
    'randomness.seed=0',
]


def test_ucf101_config_trains_and_resumes_with_its_queue(tiny_dataset):
    work = tiny_dataset / 'work'
    args = [sys.executable, TRAIN, UCF_CONFIG, '--work-dir', str(work),
            '--cfg-options', *TINY_UCF]
    first = run_tool(args + ['train_cfg.max_epochs=1'], tiny_dataset)
    assert first.returncode == 0, first.stderr[-3000:]
    state = torch.load(work / 'epoch_1.pth', weights_only=True)['state_dict']
    assert state['head.loss_module.queue_ptr'].item() == (3 * 2) % 4  # 3 steps of 2
    resumed = run_tool(args + ['train_cfg.max_epochs=2', '--resume'],
                       tiny_dataset)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1, iter: 3' in log and 'loss_dsm' in log
    final = torch.load(work / 'epoch_2.pth', weights_only=True)['state_dict']
    assert final['head.loss_module.queue_ptr'].item() == (6 * 2) % 4
    assert not torch.equal(final['momentum_encoder.module.1.fc.weight'],
                           final['projector.fc.weight'])
    # the retrieval / embedding model takes the query encoder from it
    from mmengine.runner import load_checkpoint
    with DefaultScope.overwrite_default_scope('mmaction'):
        embedder = MODELS.build(dict(type='VideoEmbedder', backbone=dict(
            type='InceptionI3D', base_channels=8)))
    load_checkpoint(embedder, str(work / 'epoch_2.pth'))
    for name, value in embedder.backbone.state_dict().items():
        torch.testing.assert_close(value, final[f'backbone.{name}'])
    embedder.eval()
    clips = torch.randn(1, 2, 3, 4, 32, 32)
    with torch.no_grad():
        vector = embedder.predict(clips)[0].embedding
        expected = embedder.backbone(clips[0]).mean((2, 3, 4)).mean(0)
    torch.testing.assert_close(vector, expected)


def test_synthetic_config_trains(tmp_path):
    """The demo's DSM config on generated videos (its DSM(Triplet) twin
    has the same views and is built by tests/configs_tree)."""
    from mmcmd.datasets.synthetic import generate_dataset
    generate_dataset(str(tmp_path / 'data' / 'synthetic'),
                     num_train_per_class=1, num_test_per_class=0,
                     size=(64, 64), num_frames=20, progress=False)
    config = (REPO_ROOT / 'configs' / 'synthetic' /
              'dsm_r2plus1d-10_1xb16-8x2x1-20e_synthetic.py')
    result = run_tool([
        sys.executable, TRAIN, config, '--work-dir', str(tmp_path / 'w'),
        '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'model.queue_size=8',
        'default_hooks.logger.interval=1'], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'loss_dsm' in result.stdout + result.stderr
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()
