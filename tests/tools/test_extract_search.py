"""tools/extract_embeddings.py and tools/search.py on a folder of videos."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from mmcmd.apis import EmbeddingGallery, embed_video, init_embedder
from mmcmd.codec.encode import write_frames
from mmcmd.codec.samples import panning_frames
from mmcmd.models.utils import build_module

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'tests' / 'apis' / 'embedding_tiny_config.py')


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(
        f'tool_{name}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def extract_tool():
    return _tool('extract_embeddings')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    """Random weights of the tiny config as an mmengine checkpoint."""
    from mmengine.config import Config
    torch.manual_seed(0)
    net = build_module(Config.fromfile(CONFIG).model.backbone)
    net.init_weights()
    for name, value in net.state_dict().items():
        if name.endswith('weight') and value.dim() == 1:
            value.uniform_(0.5, 1.5)  # undo the zero-init of last BN gammas
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in net.state_dict().items()}), path)
    return path


@pytest.fixture
def videos(tmp_path) -> Path:
    """Five short videos (two motions x texture seeds) and one broken file."""
    root = tmp_path / 'videos'
    for i, motion in enumerate([(1, 0), (1, 0), (0, 1), (-1, 0), (0, -1)]):
        write_frames(str(root / f'sub/v{i}.mp4'),
                     panning_frames((48, 40), 20, motion, seed=i % 2))
    (root / 'broken.mp4').write_bytes(b'\x00\x00\x00\x18ftypmp42' * 4)
    return root


def _run(tool, checkpoint, videos, out, *extra):
    return tool.main([CONFIG, checkpoint, '--videos', str(videos), '--out',
                      str(out), '--workers', '0', '--batch-size', '2',
                      *extra])


def test_extract_skips_broken_and_resumes(extract_tool, checkpoint, videos,
                                          tmp_path, capsys):
    out = tmp_path / 'emb'
    assert _run(extract_tool, checkpoint, videos, out) == 0
    assert '5 of 6 videos embedded' in capsys.readouterr().out
    vectors = np.load(f'{out}.npy')
    paths = Path(f'{out}.index.txt').read_text().splitlines()
    assert vectors.shape == (5, 64) and vectors.dtype == np.float32
    assert paths == [str(videos / f'sub/v{i}.mp4') for i in range(5)]
    failed = Path(f'{out}.failed.txt').read_text().splitlines()
    assert len(failed) == 1 and failed[0].startswith(str(videos /
                                                         'broken.mp4'))
    assert not Path(f'{out}.partial.f32').exists()
    model = init_embedder(CONFIG, checkpoint)
    np.testing.assert_allclose(vectors[2], embed_video(model, paths[2]),
                               rtol=1e-5, atol=1e-6)
    # A rerun must reuse stored rows, not recompute them: mark one row.
    vectors[1] = 7.0
    np.save(f'{out}.npy', vectors)
    assert _run(extract_tool, checkpoint, videos, out) == 0
    assert 'skipping 5 done, 1 to embed' in capsys.readouterr().out
    again = np.load(f'{out}.npy')
    assert (again[1] == 7.0).all() and np.array_equal(again[0], vectors[0])


def test_killed_run_resumes_from_partial_files(extract_tool, checkpoint,
                                               videos, tmp_path, capsys):
    out = tmp_path / 'emb'
    args = extract_tool.parse_args([CONFIG, checkpoint, '--videos', 'x',
                                    '--out', 'y'])
    from mmengine.config import Config
    store_meta = extract_tool.run_meta(args, Config.fromfile(CONFIG),
                                       normalize=False)
    # Simulate a run killed after two videos, mid-way through the third.
    store = extract_tool.ResultStore(str(out), store_meta)
    first = [str(videos / 'sub/v0.mp4'), str(videos / 'sub/v1.mp4')]
    store.add(first, np.full((2, 64), 3.0, np.float32))
    store.close()
    with open(f'{out}.partial.f32', 'ab') as f:
        f.write(np.ones(10, np.float32).tobytes())  # torn third row
    with open(f'{out}.partial.txt', 'a') as f:
        f.write(str(videos / 'sub/v2.mp4'))  # torn line, no newline
    assert _run(extract_tool, checkpoint, videos, out) == 0
    assert 'skipping 2 done, 4 to embed' in capsys.readouterr().out
    vectors = np.load(f'{out}.npy')
    assert vectors.shape == (5, 64)
    assert (vectors[:2] == 3.0).all() and not (vectors[2] == 1.0).any()
    # Another setting must not be mixed into the same outputs.
    assert _run(extract_tool, checkpoint, videos, out, '--normalize') == 1
    assert 'normalize' in capsys.readouterr().err


def test_normalized_extraction_and_search(extract_tool, checkpoint, videos,
                                          tmp_path, capsys):
    out = tmp_path / 'unit'
    assert _run(extract_tool, checkpoint, videos, out, '--normalize',
                '--workers', '2') == 0
    vectors = np.load(f'{out}.npy')
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    gallery = EmbeddingGallery.load(str(out), use_faiss=False)
    query = vectors[3] + 0.01 * vectors[0]
    hits = gallery.search(query, k=3)
    # Brute force: cosine against every row, best first.
    scores = vectors @ (query / np.linalg.norm(query))
    order = np.argsort(-scores)[:3]
    assert [h[0] for h in hits] == [gallery.paths[i] for i in order]
    np.testing.assert_allclose([h[1] for h in hits], scores[order],
                               atol=1e-5)
    search = _tool('search')
    capsys.readouterr()
    assert search.main([str(out), '--index-of', gallery.paths[0],
                        '-k', '2']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('# 5 videos') and len(lines) == 3
    rank, score, path = lines[1].split('\t')
    best = np.argsort(-(vectors[1:] @ vectors[0]))[0] + 1
    assert rank == '1' and path == gallery.paths[best]
    assert abs(float(score) - vectors[best] @ vectors[0]) < 1e-4
    # --video embeds with the config and checkpoint recorded at extraction.
    assert search.main([str(out), '--video', gallery.paths[4], '-k', '1']) == 0
    top = capsys.readouterr().out.splitlines()[1].split('\t')
    assert top[2] == gallery.paths[4] and float(top[1]) > 0.9999
    np.save(tmp_path / 'q.npy', vectors[2])
    assert search.main([str(out), '--embedding', str(tmp_path / 'q.npy'),
                        '-k', '1']) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith(gallery.paths[2])
    assert search.main([str(out), '--index-of', 'missing.mp4']) == 1
    assert 'missing.mp4' in capsys.readouterr().err


def test_rank_shards_merge_in_input_order(extract_tool, checkpoint, videos,
                                          tmp_path):
    # What `--launcher pytorch` does on 2 ranks, run here one rank at a time.
    out = str(tmp_path / 'dist')
    args = extract_tool.parse_args([CONFIG, checkpoint, '--videos',
                                    str(videos), '--out', out,
                                    '--workers', '0'])
    model = init_embedder(CONFIG, checkpoint)
    paths = sorted(str(p) for p in videos.rglob('*.mp4'))
    meta = dict(config='c', checkpoint='k', normalize=False)
    for rank in range(2):
        extract_tool.extract(model, paths[rank::2], f'{out}.rank{rank}', meta,
                             args, rank)
    assert extract_tool.merge_ranks(out, paths, 2, meta) == 5
    merged = Path(f'{out}.index.txt').read_text().splitlines()
    assert merged == [p for p in paths if 'broken' not in p]
    assert Path(f'{out}.failed.txt').read_text().startswith(
        str(videos / 'broken.mp4') + '\t')
    assert not list(tmp_path.glob('dist.rank*'))
    expected = np.stack([embed_video(model, p) for p in merged])
    np.testing.assert_allclose(np.load(f'{out}.npy'), expected, rtol=1e-5,
                               atol=1e-6)


def test_no_embeddable_video_exits_1(extract_tool, checkpoint, videos,
                                     tmp_path):
    listed = tmp_path / 'broken.txt'
    listed.write_text('broken.mp4 0\nmissing.mp4 1\n')
    out = tmp_path / 'none'
    assert extract_tool.main([CONFIG, checkpoint, '--list', str(listed),
                              '--root', str(videos), '--out', str(out),
                              '--workers', '0']) == 1
    assert np.load(f'{out}.npy').shape == (0, 0)
    failed = Path(f'{out}.failed.txt').read_text().splitlines()
    assert [line.split('\t')[0] for line in failed] == [
        str(videos / 'broken.mp4'), str(videos / 'missing.mp4')]


def test_list_lines_with_labels(extract_tool, tmp_path):
    listed = tmp_path / 'ann.txt'
    listed.write_text('# comment\nA/v 1.avi 3\n\nB/w.mp4\nC/x.mp4 0 7\n'
                      '/abs/y.mp4 2\n')
    assert extract_tool.read_video_list(str(listed), 'root') == [
        'root/A/v 1.avi', 'root/B/w.mp4', 'root/C/x.mp4', '/abs/y.mp4']
    # without a root: the list's own folder, as every list-reading tool
    assert extract_tool.read_video_list(str(listed)) == [
        str(tmp_path / 'A/v 1.avi'), str(tmp_path / 'B/w.mp4'),
        str(tmp_path / 'C/x.mp4'), '/abs/y.mp4']


def test_list_paths_resolve_against_the_list_folder(
        extract_tool, checkpoint, videos, tmp_path, monkeypatch, capsys):
    # a list inside the video folder, run from elsewhere, no --root
    listed = videos / 'list.txt'
    listed.write_text('sub/v0.mp4 0\nsub/v2.mp4 1\n')
    monkeypatch.chdir(tmp_path)
    out = tmp_path / 'by_list'
    assert extract_tool.main([CONFIG, checkpoint, '--list', str(listed),
                              '--out', str(out), '--workers', '0']) == 0
    captured = capsys.readouterr()
    assert '2 of 2 videos embedded' in captured.out
    assert 'note:' not in captured.err
    assert Path(f'{out}.index.txt').read_text().splitlines() == [
        str(videos / 'sub/v0.mp4'), str(videos / 'sub/v2.mp4')]
    # --data-prefix is the same option as --root
    args = extract_tool.parse_args([CONFIG, checkpoint, '--list', 'l.txt',
                                    '--data-prefix', 'somewhere', '--out',
                                    'o'])
    assert args.root == 'somewhere'
    # a list written for the working directory still reads, with a note
    elsewhere = tmp_path / 'lists'
    elsewhere.mkdir()
    old = elsewhere / 'old.txt'
    old.write_text('videos/sub/v1.mp4\n')
    from_cwd = []
    assert extract_tool.read_video_list(str(old), None, from_cwd) == [
        'videos/sub/v1.mp4']
    assert from_cwd == ['videos/sub/v1.mp4']
    out = tmp_path / 'by_cwd'
    assert extract_tool.main([CONFIG, checkpoint, '--list', str(old),
                              '--out', str(out), '--workers', '0']) == 0
    err = capsys.readouterr().err
    assert 'note: 1 relative paths of' in err and '--root' in err
