"""Synthetic scene-bias data: determinism, scene bias, decodable motion."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Tuple

import av
import numpy as np
import pytest
from scipy.stats import chi2_contingency
from suite_utils import REPO_ROOT, load_tool

from mmcmd.datasets import synthetic as S

TINY = dict(num_train_per_class=2, num_test_per_class=1, size=(96, 96),
            num_frames=24, progress=False)


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory) -> Path:
    """A tiny H.264 data set: 40 videos of 96x96 pixels, 24 frames."""
    out = tmp_path_factory.mktemp('synthetic_h264')
    S.generate_dataset(str(out), seed=0, workers=1, **TINY)
    return out


def decode(path: Path) -> np.ndarray:
    """Every frame of ``path`` as RGB uint8 (T, H, W, 3)."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format='rgb24')
                         for f in container.decode(video=0)])


def object_block_motion(path: Path, params: S.VideoParams,
                        overlap: float = 0.75
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Codec motion of blocks inside the object: centres (N, 2), motion (N, 2).

    Motion is the content's forward displacement in pixels over the
    reference distance: dst - src for a past reference, src - dst for a
    future one.
    """
    boxes = S.object_boxes(params)
    centres, motion = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {'flags2': '+export_mvs'}
        for t, frame in enumerate(container.decode(stream)):
            side = frame.side_data.get('MOTION_VECTORS')
            if side is None:
                continue
            mv = side.to_ndarray()
            x0, y0, x1, y1 = boxes[t]
            left, top = mv['dst_x'] - mv['w'] / 2, mv['dst_y'] - mv['h'] / 2
            cover_x = np.minimum(left + mv['w'], x1) - np.maximum(left, x0)
            cover_y = np.minimum(top + mv['h'], y1) - np.maximum(top, y0)
            inside = (np.clip(cover_x, 0, None) * np.clip(cover_y, 0, None)
                      >= overlap * mv['w'] * mv['h'])
            mv = mv[inside]
            sign = np.where(mv['source'] < 0, 1.0, -1.0)
            motion.append(np.stack([(mv['dst_x'] - mv['src_x']) * sign,
                                    (mv['dst_y'] - mv['src_y']) * sign], 1))
            centres.append(np.stack([mv['dst_x'], mv['dst_y']], 1))
    return (np.concatenate(centres).astype(np.float64),
            np.concatenate(motion).astype(np.float64))


def test_generate_is_deterministic_per_seed(tiny_set: Path, tmp_path: Path):
    again = tmp_path / 'again'
    S.generate_dataset(str(again), seed=0, workers=2, **TINY)
    for name in ('train.txt', 'test_same.txt', 'test_swapped.txt',
                 'meta.json'):
        assert (again / name).read_bytes() == (tiny_set / name).read_bytes()
    meta = S.load_meta(str(tiny_set))
    for record in meta['videos'][::7]:
        # The rendered frames are exactly reproducible; x264's output is
        # not always bit-exact between encodes of the same frames (the same
        # settings give a few different macroblocks now and then), so the
        # decoded videos are compared with a bound far below the difference
        # between two seeds (checked below).
        assert S.sample_params(
            record['label'], record['scene'],
            np.random.default_rng(record['rng_key']), record['size'],
            record['num_frames'], record['camera_motion'],
            record['scene_contrast']) == record['params']
        first = decode(again / record['path']).astype(np.int16)
        second = decode(tiny_set / record['path']).astype(np.int16)
        assert first.shape == second.shape
        assert np.abs(first - second).mean() < 1.0
    other = tmp_path / 'other'
    S.generate_dataset(str(other), seed=1, workers=1, **TINY)
    assert (other / 'meta.json').read_bytes() != \
        (tiny_set / 'meta.json').read_bytes()
    first = meta['videos'][0]['path']
    assert np.abs(decode(other / first).astype(np.int16)
                  - decode(tiny_set / first).astype(np.int16)).mean() > 5.0


def test_annotations_meta_and_files_agree(tiny_set: Path):
    meta = S.load_meta(str(tiny_set))
    assert meta['classes'] == list(S.CLASSES) and len(S.CLASSES) >= 8
    assert meta['size'] == [96, 96] and meta['num_frames'] == 24
    assert meta['bframes'] == 2 and meta['encoder'] == 'libx264'
    for split, per_class in (('train', 2), ('test_same', 1),
                             ('test_swapped', 1)):
        lines = (tiny_set / f'{split}.txt').read_text().splitlines()
        records = [r for r in meta['videos'] if r['split'] == split]
        assert len(lines) == len(records) == per_class * len(S.CLASSES)
        for line, record in zip(lines, records):
            path, label = line.split(' ')
            assert path == record['path'] and int(label) == record['label']
            assert path.startswith(f'videos/{split}/{S.CLASSES[int(label)]}/')
            assert (tiny_set / path).is_file()
            params = record['params']
            assert (params.class_id, params.scene_id) == (record['label'],
                                                          record['scene'])
            assert record['own_scene'] == (record['scene'] == record['label'])


def luma_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of the BT.601 luma of two RGB arrays."""
    weights = np.array([0.299, 0.587, 0.114])
    error = np.mean((a.astype(np.float64) @ weights
                     - b.astype(np.float64) @ weights) ** 2)
    return float(10 * np.log10(255 ** 2 / error))


def test_decoded_frames_match_the_rendered_frames(tiny_set: Path):
    meta = S.load_meta(str(tiny_set))
    records = meta['videos']
    for i in range(0, len(records), 9):
        decoded = decode(tiny_set / records[i]['path'])
        assert decoded.shape == (24, 96, 96, 3)
        # meta.json alone reproduces the pixels, up to compression error
        # (luma: 4:2:0 subsampling blurs the saturated textures' colours).
        assert luma_psnr(decoded, S.render_frames(records[i]['params'])) > 34
        other = records[(i + 1) % len(records)]['params']
        assert luma_psnr(decoded, S.render_frames(other)) < 20


def test_train_and_test_same_keep_the_own_scene_share():
    for split in ('train', 'test_same'):
        rng = np.random.default_rng(3)
        scenes = S.assign_scenes(400, split, rng, 0.85).reshape(10, 400)
        own = scenes == np.arange(10)[:, None]
        np.testing.assert_array_equal(own.sum(1), 340)
        for c in range(10):  # the rest spread over the other scenes
            counts = np.bincount(scenes[c][~own[c]], minlength=10)
            assert counts[c] == 0
            assert np.delete(counts, c).max() - np.delete(counts, c).min() <= 1
    scenes = S.assign_scenes(10, 'test_same', np.random.default_rng(0))
    assert np.mean(scenes == np.repeat(np.arange(10), 10)) == 0.9  # 8.5 up


def test_test_swapped_scenes_are_independent_of_the_class():
    scenes = S.assign_scenes(37, 'test_swapped', np.random.default_rng(5))
    labels = np.repeat(np.arange(10), 37)
    table = np.zeros((10, 10))
    np.add.at(table, (labels, scenes), 1)
    assert chi2_contingency(table).pvalue > 0.5
    assert (table.max(1) - table.min(1) <= 1).all()  # uniform per class
    assert abs(np.mean(scenes == labels) - 0.1) < 0.02
    # The biased split is far from independent.
    biased = S.assign_scenes(37, 'train', np.random.default_rng(5))
    table[:] = 0
    np.add.at(table, (labels, biased), 1)
    assert chi2_contingency(table).pvalue < 1e-6


@pytest.mark.parametrize('codec', ['h264', 'mpeg4'])
def test_motion_vectors_follow_the_class(codec: str, tiny_set: Path,
                                         tmp_path: Path):
    root = tiny_set
    if codec != 'h264':
        root = tmp_path / codec
        S.generate_dataset(str(root), seed=2, codec=codec,
                           **dict(TINY, num_test_per_class=0))
    meta = S.load_meta(str(root))
    checked = set()
    for record in meta['videos']:
        params = record['params']
        centres, motion = object_block_motion(root / record['path'], params)
        assert len(motion) >= 8, record['path']
        name = S.CLASSES[params.class_id]
        if params.class_id in S.TRANSLATIONS:
            median = np.median(motion, axis=0)
            cosine = median @ S.TRANSLATIONS[params.class_id] / max(
                np.linalg.norm(median), 1e-9)
            assert cosine > 0.7, (record['path'], median)
        elif name.startswith('circle'):
            arm = centres - [params.centre_x, params.centre_y]
            turn = arm[:, 0] * motion[:, 1] - arm[:, 1] * motion[:, 0]
            moving = turn != 0  # y points down: clockwise turns positive
            clockwise = np.mean(turn[moving] > 0)
            assert (clockwise if name == 'circle_clockwise'
                    else 1 - clockwise) > 0.7, record['path']
        else:
            axis = 0 if name == 'oscillate_horizontal' else 1
            along, across = np.abs(motion).sum(0)[[axis, 1 - axis]]
            assert along > 3 * across, record['path']
            assert (motion[:, axis] > 0).any() and (motion[:, axis] < 0).any()
        checked.add(params.class_id)
    assert checked == set(range(len(S.CLASSES)))


def test_object_boxes_follow_the_ideal_motion_and_the_pixels():
    for class_id in range(len(S.CLASSES)):
        rng = np.random.default_rng([7, class_id])
        params = S.sample_params(class_id, 3, rng, (96, 64), 32)
        boxes = S.object_boxes(params)
        steps = np.diff(boxes[:, :2], axis=0)
        ideal = np.array([S.ideal_motion(params, t) for t in range(1, 32)])
        unwrapped = np.abs(steps - ideal).max(1) < 1e-9
        assert unwrapped.sum() >= 24  # wrapping interrupts a translation
        speed = np.linalg.norm(ideal, axis=1)
        assert 1.9 < speed.mean() < 4.1
        if class_id in S.TRANSLATIONS:
            np.testing.assert_allclose(
                ideal / speed[:, None],
                np.tile(S.TRANSLATIONS[class_id], (31, 1)), atol=1e-9)
        # The pixels that differ from the scene are the object's box.
        frames = S.render_frames(params)
        scene = np.clip(S.scene_image(params) + 0.5, 0, 255).astype(np.uint8)
        for t in range(0, 32, 5):
            x0, y0, x1, y1 = boxes[t]
            if x0 < 0 or y0 < 0 or x1 > 96 or y1 > 64:
                continue
            ys, xs = np.nonzero((frames[t] != scene).any(-1))
            assert abs(xs.min() - x0) <= 1 and abs(xs.max() + 1 - x1) <= 1
            assert abs(ys.min() - y0) <= 1 and abs(ys.max() + 1 - y1) <= 1


def test_render_video_is_seeded_and_camera_motion_pans_the_scene(
        tmp_path: Path):
    first = S.render_video(0, 0, np.random.default_rng(1), (64, 48), 6)
    assert first.shape == (6, 48, 64, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(
        first, S.render_video(0, 0, np.random.default_rng(1), (64, 48), 6))
    assert not np.array_equal(
        first, S.render_video(0, 0, np.random.default_rng(2), (64, 48), 6))
    params = S.sample_params(2, 7, np.random.default_rng(4), (64, 48), 6,
                             camera_motion=True)
    assert 0.5 <= np.hypot(params.pan_x, params.pan_y) <= 1.0
    params = dataclasses.replace(params, pan_x=2.0, pan_y=-1.0)
    for scene_id in range(len(S.SCENES)):
        p = dataclasses.replace(params, scene_id=scene_id)
        np.testing.assert_allclose(S.scene_image(p, 1)[:-1, 2:],
                                   S.scene_image(p, 0)[1:, :-2], atol=1e-3,
                                   err_msg=S.SCENES[scene_id])
    # Whole-pixel pans make the rendered background exact, frame by frame.
    params = dataclasses.replace(params, num_frames=16, width=96, height=96)
    frames = S.render_frames(params)
    boxes = S.object_boxes(params)
    for t in range(16):
        scene = np.clip(S.scene_image(params, t) + 0.5, 0, 255)
        x0, y0, x1, y1 = np.floor(boxes[t]).astype(int) + [-1, -1, 2, 2]
        away = np.ones((96, 96), bool)
        away[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = False
        assert np.abs(frames[t][away] - scene[away]).max() <= 1
    # The encoded background moves with the pan.
    path = tmp_path / 'pan.mp4'
    S.write_video(str(path), S.render_frames(params))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {'flags2': '+export_mvs'}
        mvs = [f.side_data.get('MOTION_VECTORS') for f in
               container.decode(stream)]
    mv = np.concatenate([m.to_ndarray() for m in mvs if m is not None])
    sign = np.where(mv['source'] < 0, 1.0, -1.0)
    per_frame = np.stack([(mv['dst_x'] - mv['src_x']) * sign,
                          (mv['dst_y'] - mv['src_y']) * sign], 1)
    median = np.median(per_frame[(per_frame != 0).any(1)], axis=0)
    assert median @ [2, -1] / np.linalg.norm(median) / 5 ** 0.5 > 0.9


def test_scene_types_are_recognisable_but_never_a_fixed_image():
    features, labels = [], []
    for scene_id in range(len(S.SCENES)):
        images = [S.scene_image(S.sample_params(
            0, scene_id, np.random.default_rng([11, scene_id, i]), (64, 64),
            2)) for i in range(6)]
        assert np.abs(images[0] - images[1]).mean() > 10
        for image in images:  # colour statistics only
            features.append(np.concatenate([image.mean((0, 1)),
                                            image.std((0, 1))]))
            labels.append(scene_id)
    features, labels = np.array(features), np.array(labels)
    correct = 0
    for i in range(len(labels)):  # leave-one-out nearest centroid
        keep = np.arange(len(labels)) != i
        centroids = np.stack([features[keep & (labels == s)].mean(0)
                              for s in range(len(S.SCENES))])
        guess = np.argmin(np.linalg.norm(centroids - features[i], axis=1))
        correct += guess == labels[i]
    assert correct / len(labels) >= 0.95


def test_invalid_arguments_name_the_fix(tmp_path: Path):
    with pytest.raises(ValueError, match='even'):
        S.generate_dataset(str(tmp_path), size=(97, 96), progress=False)
    with pytest.raises(ValueError, match='codec'):
        S.generate_dataset(str(tmp_path), codec='vp9', progress=False)
    with pytest.raises(ValueError, match='split'):
        S.assign_scenes(2, 'val', np.random.default_rng(0))
    with pytest.raises(FileNotFoundError, match='generate.py'):
        S.load_meta(str(tmp_path / 'missing'))


def test_command_line_tool(tmp_path: Path):
    script = REPO_ROOT / 'tools' / 'data' / 'synthetic' / 'generate.py'
    result = subprocess.run([sys.executable, str(script), '--help'],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and '--camera-motion' in result.stdout
    tool = load_tool('tools/data/synthetic/generate.py')
    out = tmp_path / 'cli'
    code = tool.main(['--out', str(out), '--num-train-per-class', '1',
                      '--num-test-per-class', '1', '--size', '64x48',
                      '--frames', '8', '--quiet'])
    assert code == 0
    assert len((out / 'test_swapped.txt').read_text().splitlines()) == 10
    assert decode(out / S.load_meta(str(out))['videos'][0]['path']).shape \
        == (8, 48, 64, 3)
    assert tool.main(['--out', str(out), '--size', '63x48', '--quiet']) == 2
