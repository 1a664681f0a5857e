"""One definition of a video's embedding: ``tools/test.py --dump`` with a
retrieval config, ``tools/extract_embeddings.py`` and ``embed_video`` give
the same vector for the same video (same model and test_pipeline)."""
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcmd.apis import build_test_pipeline, embed_video, init_embedder
from mmcmd.codec.encode import write_frames
from mmcmd.codec.samples import panning_frames
from mmcmd.models.utils import build_module

HERE = Path(__file__).resolve().parent
CONFIG = str(HERE / 'embedding_tiny_config.py')
RETRIEVAL_CONFIG = str(HERE / 'retrieval_tiny_config.py')
#: name -> (width, height, frames, motion, B-frames); the 5-frame video is
#: shorter than one clip span (7), the others give every resize rounding.
VIDEOS = {
    'a.mp4': (56, 44, 30, (1.0, 0.5), 0),
    'b.mp4': (48, 40, 5, (1.0, 0.0), 0),
    'c.mp4': (40, 62, 17, (0.0, 1.0), 0),
    'd.mp4': (64, 48, 12, (-1.0, 0.0), 2),
}
LABELS = [0, 1, 0, 1]
QUERIES = ['c.mp4', 'a.mp4']


@pytest.fixture
def workdir(tmp_path) -> Path:
    """``data/emb`` (videos, gallery.txt, query.txt) and a checkpoint."""
    data = tmp_path / 'data' / 'emb'
    for seed, (name, (w, h, n, motion, bframes)) in enumerate(VIDEOS.items()):
        write_frames(str(data / 'videos' / name),
                     panning_frames((w, h), n, motion, seed=seed),
                     bframes=bframes)
    label = dict(zip(VIDEOS, LABELS))
    (data / 'gallery.txt').write_text(
        ''.join(f'{name} {label[name]}\n' for name in VIDEOS))
    (data / 'query.txt').write_text(
        ''.join(f'{name} {label[name]}\n' for name in QUERIES))
    torch.manual_seed(0)
    net = build_module(Config.fromfile(CONFIG).model.backbone)
    net.init_weights()
    for name, value in net.state_dict().items():
        if name.endswith('weight') and value.dim() == 1:
            value.uniform_(0.5, 1.5)  # undo the zero-init of last BN gammas
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in net.state_dict().items()}),
               tmp_path / 'tiny.pth')
    return tmp_path


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(
        f'tool_{name}', HERE.parents[1] / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_test_dump_extraction_and_embed_video_agree(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    ckpt = str(workdir / 'tiny.pth')
    videos = workdir / 'data' / 'emb' / 'videos'
    # (a) the mmengine Runner's test loop over the retrieval datasets.
    assert _tool('test').run([RETRIEVAL_CONFIG, ckpt, '--work-dir',
                              str(workdir / 'work'), '--dump',
                              str(workdir / 'preds.pkl')]) == 0
    with open(workdir / 'preds.pkl', 'rb') as f:
        rows = pickle.load(f)
    assert [r['retrieval_role'] for r in rows] == ['gallery'] * 4 + \
        ['query'] * 2
    dumped = np.stack([np.asarray(r['embedding'], np.float32) for r in rows])
    # (b) the extraction tool, reading the same annotation file.
    out = workdir / 'emb'
    assert _tool('extract_embeddings').main(
        [CONFIG, ckpt, '--list', 'data/emb/gallery.txt', '--root',
         str(videos), '--out', str(out), '--workers', '0',
         '--batch-size', '3']) == 0
    assert Path(f'{out}.index.txt').read_text().splitlines() == [
        str(videos / name) for name in VIDEOS]
    extracted = np.load(f'{out}.npy')
    # (c) the Python API, one video at a time.
    model = init_embedder(CONFIG, ckpt)
    embedded = np.stack([embed_video(model, videos / name)
                         for name in VIDEOS])
    assert embedded.shape == (4, 64)
    assert np.linalg.norm(embedded - embedded[:1], axis=1)[1:].min() > 1e-3
    np.testing.assert_allclose(dumped[:4], embedded, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(extracted, embedded, rtol=1e-5, atol=1e-5)
    order = [list(VIDEOS).index(name) for name in QUERIES]
    np.testing.assert_allclose(dumped[4:], embedded[order], rtol=1e-5,
                               atol=1e-5)


def _test_pipelines(path: Path) -> list:
    cfg = Config.fromfile(str(path))
    if 'retrieval' in path.parent.name:
        dataset = cfg.test_dataloader.dataset
        return [dataset.gallery.pipeline, dataset.query.pipeline]
    if 'finetune' in path.parent.name:
        return [cfg.test_dataloader.dataset.pipeline]
    return [cfg.test_pipeline]


def test_shipped_configs_share_one_test_pipeline(tmp_path):
    configs = HERE.parents[1] / 'configs'
    reference = Config.fromfile(
        str(configs / '_base_/datasets/embedding_pipeline.py')).test_pipeline
    paths = sorted((configs / 'embedding').glob('*.py')) + sorted(
        (configs / 'retrieval').glob('*.py')) + sorted(
        (configs / 'finetune').glob('*ucf101-split1-rgb.py'))
    assert len(paths) == 12
    for path in paths:
        assert all(p == reference for p in _test_pipelines(path)), path
    # The shipped pipeline on a real 70-frame video: 10 clips of 16 frames,
    # 112x112 (short side 48 -> 128, 64 -> 171 wide, centre crop).
    video = str(tmp_path / 'v.mp4')
    write_frames(video, panning_frames((64, 48), 70, (1.0, 0.0)))
    packed = build_test_pipeline(Config(dict(test_pipeline=reference)))(
        dict(filename=video))
    assert tuple(packed['inputs'].shape) == (10, 3, 16, 112, 112)
    assert packed['inputs'].dtype == torch.uint8
