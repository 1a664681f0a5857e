"""Official split files -> VideoDataset lists, built from files on disk."""
from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from suite_utils import REPO_ROOT
from suite_utils import load_tool as load_script

from mmcmd.datasets import annotations as ann


def load_tool(dataset: str):
    """The tools/data/<dataset>/build_annotations.py module."""
    return load_script(f'tools/data/{dataset}/build_annotations.py')


def run_cli(dataset: str, *args: str, fresh_interpreter: bool = False
            ) -> subprocess.CompletedProcess:
    """Run a tool's main() here, or, as a user would, in a fresh interpreter
    (seconds: the tools import mmcmd's OpenMMLab side)."""
    argv = [str(arg) for arg in args]
    if fresh_interpreter:
        tool = REPO_ROOT / 'tools' / 'data' / dataset / 'build_annotations.py'
        return subprocess.run([sys.executable, str(tool), *argv],
                              capture_output=True, text=True, timeout=120)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = load_tool(dataset).main(argv)
    return subprocess.CompletedProcess(argv, code, out.getvalue(),
                                       err.getvalue())


def touch(root: Path, rel: str) -> None:
    """Create an empty placeholder video file."""
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(b'')


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


# --------------------------------------------------------------- UCF101 ---
UCF_CLASSES = ['ApplyEyeMakeup', 'BandMarching', 'HandstandPushups']
UCF_TRAIN = ['ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi',
             'BandMarching/v_BandMarching_g08_c01.avi',
             'HandstandPushups/v_HandStandPushups_g08_c01.avi']
UCF_TEST = ['ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi',
            'BandMarching/v_BandMarching_g01_c01.avi',
            'HandstandPushups/v_HandStandPushups_g01_c01.avi']


@pytest.fixture
def ucf(tmp_path: Path) -> dict:
    """Official-format split lists (CRLF, as shipped) and videos on disk.

    Split n swaps the roles of the g01 and g08 groups for n = 2; the
    HandstandPushups folder is spelled 'HandStandPushups' on disk and one
    test video of split 1 was never downloaded.
    """
    splits, root = tmp_path / 'ucfTrainTestlist', tmp_path / 'videos'
    splits.mkdir()
    crlf = lambda rows: ''.join(f'{r}\r\n' for r in rows)  # noqa: E731
    (splits / 'classInd.txt').write_bytes(crlf(
        f'{i} {c}' for i, c in enumerate(UCF_CLASSES, 1)).encode())
    for n in (1, 2, 3):
        train, test = (UCF_TEST, UCF_TRAIN) if n == 2 else (UCF_TRAIN, UCF_TEST)
        # split 3's train list carries no labels: they come from the folder
        rows = train if n == 3 else [f'{p} {i}' for i, p in enumerate(train, 1)]
        (splits / f'trainlist0{n}.txt').write_bytes(crlf(rows).encode())
        (splits / f'testlist0{n}.txt').write_bytes(crlf(test).encode())
    for rel in UCF_TRAIN + UCF_TEST[1:]:
        touch(root, rel.replace('HandstandPushups/', 'HandStandPushups/'))
    return dict(splits=splits, root=root, out=tmp_path / 'ann')


def test_ucf101_cli_writes_zero_based_lists_and_reports(ucf):
    result = run_cli('ucf101', '--splits-dir', ucf['splits'], '--root',
                     ucf['root'], '--out', ucf['out'])
    assert result.returncode == 0, result.stderr
    out = ucf['out']
    assert lines(out / 'ucf101_classes.txt') == UCF_CLASSES
    on_disk = [p.replace('HandstandPushups/', 'HandStandPushups/')
               for p in UCF_TRAIN]
    assert lines(out / 'ucf101_train_split_1_videos.txt') == [
        f'{on_disk[0]} 0', f'{on_disk[1]} 1', f'{on_disk[2]} 2']
    # the missing video is still written, then reported
    assert lines(out / 'ucf101_val_split_1_videos.txt') == [
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 0',
        'BandMarching/v_BandMarching_g01_c01.avi 1',
        'HandStandPushups/v_HandStandPushups_g01_c01.avi 2']
    assert lines(out / 'missing_ucf101_val_split_1_videos.txt') == [
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi']
    assert lines(out / 'ucf101_train_split_3_videos.txt') == lines(
        out / 'ucf101_train_split_1_videos.txt')
    assert lines(out / 'ucf101_train_split_2_videos.txt')[0] == \
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 0'
    assert not (out / 'missing_ucf101_train_split_1_videos.txt').exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ['ucf101_classes.txt', 'missing_ucf101_val_split_1_videos.txt',
         'missing_ucf101_val_split_3_videos.txt',
         'missing_ucf101_train_split_2_videos.txt'] +
        [f'ucf101_{s}_split_{n}_videos.txt' for s in ('train', 'val')
         for n in (1, 2, 3)])
    summary = result.stdout
    assert ('ucf101_val_split_1_videos.txt: 3 listed, 2 found, 1 missing -> '
            'wrote 3 lines (missing videos kept') in summary
    assert 'missing: ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi' in summary
    assert ('1 path(s) found only ignoring letter case, written as on disk,'
            ' e.g. HandstandPushups/v_HandStandPushups_g08_c01.avi -> '
            'HandStandPushups/v_HandStandPushups_g08_c01.avi') in summary


def test_ucf101_split_selection_skip_missing_and_ext(ucf, capsys):
    tool = load_tool('ucf101')
    for rel in UCF_TRAIN + UCF_TEST:
        touch(ucf['root'], rel.replace('.avi', '.mp4'))
    (ucf['root'] / UCF_TRAIN[1].replace('.avi', '.mp4')).unlink()
    assert tool.main(['--splits-dir', str(ucf['splits']), '--root',
                      str(ucf['root']), '--out', str(ucf['out']), '--split',
                      '2', '--skip-missing', '--ext', 'mp4']) == 0
    assert sorted(p.name for p in ucf['out'].iterdir()) == [
        'missing_ucf101_val_split_2_videos.txt', 'ucf101_classes.txt',
        'ucf101_train_split_2_videos.txt', 'ucf101_val_split_2_videos.txt']
    # split 2 tests on group 08; BandMarching g08 has no mp4 -> left out
    assert lines(ucf['out'] / 'ucf101_val_split_2_videos.txt') == [
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.mp4 0',
        'HandstandPushups/v_HandStandPushups_g08_c01.mp4 2']
    summary = capsys.readouterr().out
    assert '(missing videos left out: --skip-missing)' in summary


def test_ucf101_check_only_verifies(ucf, capsys):
    tool = load_tool('ucf101')
    args = ['--splits-dir', str(ucf['splits']), '--root', str(ucf['root']),
            '--check', '--split', '1']
    assert tool.main(args) == 1
    assert 'check only, nothing written' in capsys.readouterr().out
    assert not ucf['out'].exists()
    touch(ucf['root'], UCF_TEST[0])
    assert tool.main(args) == 0


@pytest.mark.parametrize('file, row, message', [
    ('trainlist01.txt', 'BandMarching/v_BandMarching_g08_c01.avi 7',
     'trainlist01.txt, line 2: label must be 1..3'),
    ('trainlist01.txt', 'BandMarching/v_BandMarching_g08_c01.avi 1',
     "line 2: label 1 (ApplyEyeMakeup) disagrees with folder 'BandMarching'"),
    ('testlist01.txt', 'v_BandMarching_g01_c01.avi',
     'testlist01.txt, line 2: expected "<ClassFolder>/<video>.avi"'),
    ('testlist01.txt', 'Rowing/v_Rowing_g01_c01.avi',
     "line 2: class folder 'Rowing' is not one of the 3 classes"),
    ('classInd.txt', 'two BandMarching', 'classInd.txt, line 2: expected'),
])
def test_ucf101_malformed_line_names_file_and_line(ucf, capsys, file, row,
                                                   message):
    path = ucf['splits'] / file
    rows = path.read_text().splitlines()
    path.write_text('\n'.join([rows[0], row, *rows[2:]]) + '\n')
    tool = load_tool('ucf101')
    assert tool.main(['--splits-dir', str(ucf['splits']), '--root',
                      str(ucf['root']), '--out', str(ucf['out'])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: {path}') and message in err


def test_ucf101_list_loads_in_mmaction_video_dataset(ucf):
    from mmaction.datasets import VideoDataset
    assert load_tool('ucf101').main([
        '--splits-dir', str(ucf['splits']), '--root', str(ucf['root']),
        '--out', str(ucf['out']), '--split', '1']) == 0
    dataset = VideoDataset(
        ann_file=str(ucf['out'] / 'ucf101_train_split_1_videos.txt'),
        data_prefix=dict(video=str(ucf['root'])), pipeline=[])
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [i['label'] for i in infos] == [0, 1, 2]
    assert all(Path(i['filename']).is_file() for i in infos)


# --------------------------------------------------------------- HMDB51 ---
HMDB = {  # class -> [(video, 0 unused / 1 train / 2 test) per split 1, 2]
    'climb': [('Climb_A_0.avi', 1, 2), ('Climb_B_0.avi', 2, 1),
              ('Climb_C_0.avi', 0, 1)],
    'brush_hair': [('April_09_brush_hair_u_nm_np1_ba_goo_0.avi', 1, 1),
                   ('Brushing_Hair_ba_goo_1.avi', 2, 0)],
    'cartwheel': [('#20_Cartwheel_f_cm_np1_le_med_0.avi', 1, 2)],
}


@pytest.fixture
def hmdb(tmp_path: Path) -> dict:
    """Split files in the official format (trailing space) and videos."""
    splits, root = tmp_path / 'testTrainMulti_7030_splits', tmp_path / 'videos'
    splits.mkdir()
    for cls, rows in HMDB.items():
        for n in (1, 2):
            text = ''.join(f'{video} {marks[n - 1]} \n'
                           for video, *marks in rows)
            (splits / f'{cls}_test_split{n}.txt').write_text(text)
        for video, *_ in rows:
            touch(root, f'{cls}/{video}')
    (root / 'climb' / 'Climb_B_0.avi').unlink()
    return dict(splits=splits, root=root, out=tmp_path / 'ann')


def test_hmdb51_cli_train_test_unused_and_sorted_labels(hmdb):
    result = run_cli('hmdb51', '--splits-dir', hmdb['splits'], '--root',
                     hmdb['root'], '--out', hmdb['out'], '--split', '1')
    assert result.returncode == 0, result.stderr
    out = hmdb['out']
    assert lines(out / 'hmdb51_classes.txt') == [
        'brush_hair', 'cartwheel', 'climb']
    assert lines(out / 'hmdb51_train_split_1_videos.txt') == [
        'brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi 0',
        'cartwheel/#20_Cartwheel_f_cm_np1_le_med_0.avi 1',
        'climb/Climb_A_0.avi 2']
    assert lines(out / 'hmdb51_val_split_1_videos.txt') == [
        'brush_hair/Brushing_Hair_ba_goo_1.avi 0', 'climb/Climb_B_0.avi 2']
    assert lines(out / 'missing_hmdb51_val_split_1_videos.txt') == [
        'climb/Climb_B_0.avi']
    assert 'hmdb51_val_split_1_videos.txt: 2 listed, 1 found, 1 missing' \
        in result.stdout


def test_hmdb51_split_two_semantics(hmdb):
    classes = ann.find_hmdb51_classes(hmdb['splits'])
    train, test = ann.read_hmdb51_split(hmdb['splits'], classes, 2)
    assert train == [
        ann.VideoEntry('brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi',
                       0),
        ann.VideoEntry('climb/Climb_B_0.avi', 2),
        ann.VideoEntry('climb/Climb_C_0.avi', 2)]
    assert test == [
        ann.VideoEntry('cartwheel/#20_Cartwheel_f_cm_np1_le_med_0.avi', 1),
        ann.VideoEntry('climb/Climb_A_0.avi', 2)]


def test_hmdb51_errors_name_the_file(hmdb, capsys):
    tool = load_tool('hmdb51')
    args = ['--splits-dir', str(hmdb['splits']), '--root', str(hmdb['root']),
            '--out', str(hmdb['out'])]
    assert tool.main(args) == 2  # split 3 files do not exist
    assert f"{hmdb['splits'] / 'brush_hair_test_split3.txt'}: HMDB51 split 3 " \
        "file of class 'brush_hair' not found" in capsys.readouterr().err
    bad = hmdb['splits'] / 'climb_test_split1.txt'
    bad.write_text('Climb_A_0.avi 1\nClimb_B_0.avi 3\n')
    assert tool.main(args[:-2] + ['--check', '--split', '1']) == 2
    assert f'error: {bad}, line 2: expected "<video>.avi <0|1|2>"' in \
        capsys.readouterr().err


# ------------------------------------------------------------- Kinetics ---
KINETICS_TRAIN = '''label,youtube_id,time_start,time_end,split
"petting animal (not cat)",--07WQ2iBlw,1,11,train
air drumming,-0NnNd4fKrs,34,44,train
"massaging person's head",-0hl3K9mjM0,0,10,train
abseiling,0347ZoDXyP0,14,24,train
abseiling,035LtPeUFTE,15,25,train
'''
KINETICS_VAL = '''label,youtube_id,time_start,time_end,split
air drumming,zxc-123_abc,100,110,val
abseiling,0wR5jVB-WPk,417,427,val
'''
KINETICS_TEST = '''youtube_id,time_start,time_end,split
Tm2Xv-Cd5HA,16,26,test
'''


@pytest.fixture
def kinetics(tmp_path: Path) -> dict:
    """Official CSVs; train clips in per-class folders, val and test flat."""
    csv_dir, root = tmp_path / 'kinetics400', tmp_path / 'videos'
    csv_dir.mkdir()
    paths = []
    for name, text in (('train', KINETICS_TRAIN), ('validate', KINETICS_VAL),
                       ('test', KINETICS_TEST)):
        (csv_dir / f'{name}.csv').write_text(text)
        paths.append(csv_dir / f'{name}.csv')
    for rel in ['train/abseiling/0347ZoDXyP0_000014_000024.mp4',
                'train/air_drumming/-0NnNd4fKrs_000034_000044.mp4',
                'train/petting_animal_not_cat/--07WQ2iBlw_000001_000011.mp4',
                'train/massaging_persons_head/-0hl3K9mjM0_000000_000010.mp4',
                'val/0wR5jVB-WPk_000417_000427.mp4',
                'val/zxc-123_abc_000100_000110.mp4',
                'test/Tm2Xv-Cd5HA_000016_000026.mp4']:
        touch(root, rel)
    return dict(csv=paths, root=root, out=tmp_path / 'ann')


def test_kinetics_cli_quoted_labels_layouts_and_unlabelled_test(kinetics):
    result = run_cli('kinetics', '--csv', *kinetics['csv'], '--root',
                     kinetics['root'], '--out', kinetics['out'],
                     fresh_interpreter=True)
    assert result.returncode == 0, result.stderr
    out = kinetics['out']
    assert lines(out / 'kinetics400_classes.txt') == [
        'abseiling', 'air drumming', "massaging person's head",
        'petting animal (not cat)']
    assert lines(out / 'kinetics400_train_list_videos.txt') == [
        'train/petting_animal_not_cat/--07WQ2iBlw_000001_000011.mp4 3',
        'train/air_drumming/-0NnNd4fKrs_000034_000044.mp4 1',
        'train/massaging_persons_head/-0hl3K9mjM0_000000_000010.mp4 2',
        'train/abseiling/0347ZoDXyP0_000014_000024.mp4 0',
        'train/abseiling/035LtPeUFTE_000015_000025.mp4 0']
    assert lines(out / 'kinetics400_val_list_videos.txt') == [
        'val/zxc-123_abc_000100_000110.mp4 1',
        'val/0wR5jVB-WPk_000417_000427.mp4 0']
    # no label column: the path alone, which VideoDataset reads as label -1
    assert lines(out / 'kinetics400_test_list_videos.txt') == [
        'test/Tm2Xv-Cd5HA_000016_000026.mp4']
    assert lines(out / 'missing_kinetics400_train_list_videos.txt') == [
        'train/abseiling/035LtPeUFTE_000015_000025.mp4']
    assert 'train: clips in train/, one folder per class' in result.stdout
    assert 'val: clips in val/, flat' in result.stdout


def test_kinetics_split_dir_override_and_label_folders_with_spaces(
        kinetics, capsys):
    root = kinetics['root']
    (root / 'train').rename(root / 'videos_train')
    for folder in (root / 'videos_train').iterdir():
        folder.rename(folder.with_name(folder.name.replace('_', ' ')))
    (root / 'videos_train' / 'massaging persons head').rename(
        root / 'videos_train' / "massaging person's head")
    tool = load_tool('kinetics')
    args = ['--csv', str(kinetics['csv'][0]), '--root', str(root), '--out',
            str(kinetics['out']), '--split', 'train', '--skip-missing']
    assert tool.main(args) == 2  # a path with a space breaks ' ' columns
    assert "contains ' ', the column delimiter" in capsys.readouterr().err
    assert tool.main(args + ['--delimiter', 'tab']) == 0
    assert 'clips in videos_train/, one folder per class' in \
        capsys.readouterr().out
    listed = kinetics['out'] / 'kinetics400_train_list_videos.txt'
    assert lines(listed)[:3] == [
        'videos_train/petting animal not cat/--07WQ2iBlw_000001_000011.mp4\t3',
        'videos_train/air drumming/-0NnNd4fKrs_000034_000044.mp4\t1',
        "videos_train/massaging person's head/-0hl3K9mjM0_000000_000010.mp4\t2"]
    from mmaction.datasets import VideoDataset
    dataset = VideoDataset(ann_file=str(listed), pipeline=[],
                           data_prefix=dict(video=str(root)), delimiter='\t')
    assert [dataset.get_data_info(i)['label'] for i in range(4)] == [3, 1, 2, 0]
    assert all(Path(dataset.get_data_info(i)['filename']).is_file()
               for i in range(4))
    assert tool.main(args[:4] + ['--split-dir', 'train=nowhere', '--check']) \
        == 2
    assert 'no folder for the train videos (looked for nowhere); pass ' \
        '--split-dir train=FOLDER' in capsys.readouterr().err


@pytest.mark.parametrize('row, message', [
    ('abseiling,abc,20,10,train', 'line 3: time_end 10 is not after 20'),
    ('abseiling,abc,1.5,10,train', "line 3: time_start must be whole seconds"),
    ('abseiling,abc,1,11', 'line 3: expected 5 fields'),
    ('abseiling,abc,1,11,holdout', "line 3: unknown split 'holdout'"),
])
def test_kinetics_malformed_row_names_file_and_line(tmp_path, row, message):
    path = tmp_path / 'train.csv'
    path.write_text(KINETICS_TRAIN.splitlines()[0] + '\n'
                    'abseiling,xyz,0,10,train\n' + row + '\n')
    with pytest.raises(ann.AnnotationFormatError) as err:
        ann.read_kinetics_csv(path)
    assert str(err.value).startswith(f'{path}, line 3: ')
    assert message in str(err.value)


def test_kinetics_csv_without_split_column_uses_file_name(tmp_path):
    path = tmp_path / 'kinetics_400_validate.csv'
    path.write_text('label,youtube_id,time_start,time_end\n"a, b",id1,2,12.0\n')
    assert ann.read_kinetics_csv(path) == [
        ann.KineticsClip('a, b', 'id1', 2, 12, 'val')]
    (tmp_path / 'clips.csv').write_text('youtube_id,time_start\nx,1\n')
    with pytest.raises(ann.AnnotationFormatError, match='header lacks'):
        ann.read_kinetics_csv(tmp_path / 'clips.csv')


def test_video_file_index_resolves_paths_and_case(tmp_path):
    (tmp_path / 'ApplyEyeMakeup').mkdir()
    (tmp_path / 'ApplyEyeMakeup' / 'v_A_g01_c01.avi').write_bytes(b'x')
    exact = ann.VideoFileIndex(tmp_path)
    assert exact.resolve('ApplyEyeMakeup/v_A_g01_c01.avi') == \
        'ApplyEyeMakeup/v_A_g01_c01.avi'
    assert exact.resolve('applyeyemakeup/V_A_G01_C01.avi') is None
    loose = ann.VideoFileIndex(tmp_path, case_insensitive=True)
    assert loose.resolve('applyeyemakeup/V_A_G01_C01.avi') == \
        'ApplyEyeMakeup/v_A_g01_c01.avi'
    assert loose.resolve('applyeyemakeup/other.avi') is None
    with pytest.raises(FileNotFoundError, match='absent'):
        ann.VideoFileIndex(tmp_path / 'absent')


# ------------------------------------------- splits present, own videos ---
def test_ucf101_only_split_one_suggests_it(ucf, capsys):
    for n in (2, 3):
        (ucf['splits'] / f'trainlist0{n}.txt').unlink()
        (ucf['splits'] / f'testlist0{n}.txt').unlink()
    tool = load_tool('ucf101')
    args = ['--splits-dir', str(ucf['splits']), '--root', str(ucf['root']),
            '--out', str(ucf['out'])]
    assert tool.main(args) == 2  # default --split all
    err = capsys.readouterr().err
    assert f"{ucf['splits'] / 'trainlist02.txt'}: UCF101 split list not " \
        'found' in err
    assert 'only split 1 is present: pass --split 1' in err
    assert not ucf['out'].exists()
    assert tool.main(args + ['--split', '1']) == 0


def test_hmdb51_missing_split_three_names_the_present_ones(hmdb, capsys):
    tool = load_tool('hmdb51')
    args = ['--splits-dir', str(hmdb['splits']), '--root', str(hmdb['root']),
            '--out', str(hmdb['out'])]
    assert tool.main(args) == 2
    assert 'only splits 1, 2 are present: pass --split 1' in \
        capsys.readouterr().err
    assert tool.main(args + ['--split', '3']) == 2  # asked for: no hint
    assert 'present' not in capsys.readouterr().err


def test_point_dataset_at_a_root():
    from mmengine.config import ConfigDict

    from mmcmd.datasets.annotations import point_dataset_at
    dataset = ConfigDict(type='VideoDataset', ann_file='data/x/val.txt',
                         data_prefix=dict(video='data/x/videos'))
    point_dataset_at(dataset, '/tmp/gen')
    assert dataset.ann_file == '/tmp/gen/val.txt'
    assert dataset.data_prefix == dict(video='/tmp/gen')
    plain = dict(ann_file='a.txt')
    point_dataset_at(plain, '/v', ann_file='/lists/train.txt')
    assert plain == dict(ann_file='/lists/train.txt', data_prefix=dict(
        video='/v'))
