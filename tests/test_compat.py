"""Each workaround of mmcmd.compat: the failure without it, the fix with it;
and when importing mmcmd sets up the OpenMMLab side.

Every check runs in a fresh interpreter with ``MMCMD_NO_COMPAT=1``: importing
``mmcmd.compat`` after mmengine (as some checks do) would otherwise apply
every fix through ``mmcmd/__init__.py`` before the check could show the
failure.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from suite_utils import REPO_ROOT


def run_python(code: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, MMCMD_NO_COMPAT='1',
               PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(REPO_ROOT))


def test_missing_drn_breaks_mmaction_models_without_fix():
    without = run_python('import mmaction.models')
    assert without.returncode != 0
    assert 'mmaction.models.localizers.drn' in without.stderr
    fixed = run_python("""
        import mmcmd.compat as c
        assert c.provide_missing_drn()
        import mmaction.models
        from mmaction.models.localizers import DRN
        try:
            DRN()
        except ImportError as e:
            assert '2714' in str(e)
        else:
            raise AssertionError('DRN stand-in must raise')
        print('ok')
    """)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == 'ok'


def test_importlib_metadata_alias():
    block = "import sys; sys.modules['importlib_metadata'] = None\n"
    without = run_python(block + 'import mmaction.utils.dependency')
    assert without.returncode != 0
    assert 'importlib_metadata' in without.stderr
    fixed = run_python(block + textwrap.dedent("""
        import mmcmd.compat as c
        assert c.provide_importlib_metadata()
        from mmaction.utils.dependency import satisfy_requirement
        assert satisfy_requirement('mmengine>=0.1')
        print('ok')
    """))
    assert fixed.returncode == 0, fixed.stderr


MMACTION_BASE_CONFIG = textwrap.dedent("""
    import sys, tempfile, os
    sys.modules['pkg_resources'] = None   # as with setuptools>=82
    d = tempfile.mkdtemp()
    path = os.path.join(d, 'cfg.py')
    open(path, 'w').write(
        "_base_ = ['mmaction::_base_/default_runtime.py']\\n")
""")


def test_mmaction_base_configs_without_pkg_resources():
    without = run_python(MMACTION_BASE_CONFIG + textwrap.dedent("""
        from mmengine.config import Config
        Config.fromfile(path)
    """))
    assert without.returncode != 0
    assert 'pkg_resources' in without.stderr
    fixed = run_python(MMACTION_BASE_CONFIG + textwrap.dedent("""
        import mmcmd.compat as c
        assert c.replace_pkg_resources_in_mmengine()
        from mmengine.config import Config
        cfg = Config.fromfile(path)
        assert cfg.default_scope == 'mmaction'
        print('ok')
    """))
    assert fixed.returncode == 0, fixed.stderr


RUNNER_LIKE_CHECKPOINT = textwrap.dedent("""
    import os, tempfile
    import numpy as np, torch
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('ckpt-test')
    for v in (1.0, 2.0, 4.0):
        hub.update_scalar('train/loss', v)
    hub.update_info('iter', np.int64(7))
    hub.update_info('lr', np.float64(0.5))
    ckpt = dict(meta=dict(epoch=1, seed=np.int64(3),
                          dtype=np.dtype('float32')),
                state_dict={'w': torch.ones(2)},
                message_hub=hub.state_dict())
    path = os.path.join(tempfile.mkdtemp(), 'ckpt.pth')
    torch.save(ckpt, path)
""")


def test_weights_only_loading_of_runner_checkpoints():
    without = run_python(RUNNER_LIKE_CHECKPOINT +
                         'torch.load(path, weights_only=True)')
    assert without.returncode != 0
    assert 'Weights only load failed' in without.stderr
    fixed = run_python(RUNNER_LIKE_CHECKPOINT + textwrap.dedent("""
        import mmcmd.compat as c
        assert c.allow_mmengine_checkpoints_with_weights_only()
        out = torch.load(path, weights_only=True)
        buf = out['message_hub']['log_scalars']['train/loss']
        assert isinstance(buf, HistoryBuffer)
        assert buf.mean() == 7.0 / 3 and buf.current() == 4.0
        assert out['message_hub']['runtime_info']['iter'] == 7
        assert out['meta']['dtype'] == np.dtype('float32')
        print('ok')
    """))
    assert fixed.returncode == 0, fixed.stderr


def test_allow_list_keeps_refusing_code(tmp_path):
    """Even with the allow-list, crafted pickles that call code are refused."""
    marker = tmp_path / 'pwned'
    code = f"""
        import os, pickle, torch
        import mmcmd.compat as c
        c.allow_mmengine_checkpoints_with_weights_only()
        from mmengine.logging import HistoryBuffer

        class Evil:
            def __reduce__(self):
                return (os.system, ('touch {marker}',))

        class EvilGetattr:  # getattr beyond HistoryBuffer's statistics
            def __reduce__(self):
                return (getattr, (HistoryBuffer, '__init__'))

        for i, obj in enumerate([Evil(), {{'x': EvilGetattr()}}]):
            path = '{tmp_path}/evil%d.pth' % i
            torch.save(obj, path)
            try:
                torch.load(path, weights_only=True)
            except pickle.UnpicklingError:
                pass
            else:
                raise AssertionError('crafted checkpoint was loaded')
        print('ok')
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def test_cpu_pytorch_launcher(tmp_path):
    env_setup = textwrap.dedent("""
        import os
        os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                          MASTER_ADDR='127.0.0.1', MASTER_PORT='29611')
        import torch
        assert not torch.cuda.is_available()
        from mmengine.dist import init_dist
    """)
    without = run_python(env_setup + "init_dist('pytorch', backend='nccl')")
    assert without.returncode != 0
    fixed = run_python(env_setup + textwrap.dedent("""
        import mmcmd.compat as c
        assert c.allow_cpu_pytorch_launcher()
        init_dist('pytorch', backend='nccl')
        import torch.distributed as dist
        assert dist.get_backend() == 'gloo' and dist.get_world_size() == 1
        print('ok')
    """))
    assert fixed.returncode == 0, fixed.stderr


def test_cpu_ddp_wrapper():
    setup = textwrap.dedent("""
        import torch, torch.distributed as dist
        dist.init_process_group('gloo', init_method='tcp://127.0.0.1:29612',
                                rank=0, world_size=1)
        from mmengine.model import MMDistributedDataParallel
        model = torch.nn.Linear(2, 2)
    """)
    without = run_python(setup + 'MMDistributedDataParallel(module=model, '
                         'device_ids=[0])')
    assert without.returncode != 0
    fixed = run_python(setup + textwrap.dedent("""
        import mmcmd.compat as c
        assert c.allow_cpu_ddp()
        ddp = MMDistributedDataParallel(module=model, device_ids=[0])
        out = ddp(torch.ones(1, 2))
        out.sum().backward()
        assert model.weight.grad is not None
        print('ok')
    """))
    assert fixed.returncode == 0, fixed.stderr


@pytest.mark.parametrize('fix', ['provide_missing_drn',
                                 'allow_mmengine_checkpoints_with_weights_only'])
def test_apply_all_is_idempotent(fix):
    import mmcmd.compat as c
    assert fix in c.apply_all()
    assert c.apply_all() == c.apply_all()


# ------------------------------------------------------------ import paths
HEAVY = "[m for m in ('torch', 'mmengine', 'mmaction') if m in sys.modules]"


def run_fresh(code: str, no_compat: bool = False
              ) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter where a UserWarning is an error;
    ``no_compat`` sets MMCMD_NO_COMPAT."""
    env = {k: v for k, v in os.environ.items() if k != 'MMCMD_NO_COMPAT'}
    env['PYTHONPATH'] = str(REPO_ROOT)
    if no_compat:
        env['MMCMD_NO_COMPAT'] = '1'
    return subprocess.run([sys.executable, '-W', 'error::UserWarning', '-c',
                           textwrap.dedent(code)],
                          capture_output=True, text=True, env=env,
                          timeout=120, cwd=str(REPO_ROOT))


def test_import_codec_needs_only_pyav_and_numpy():
    result = run_fresh(f"""
        import sys
        import mmcmd.codec, mmcmd.codec.testing, mmcmd.codec.encode
        import mmcmd
        print({HEAVY}, mmcmd.compat.__name__ if 'mmcmd.compat' in
              sys.modules else None)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['[]', 'None']


def test_custom_imports_register_modules_and_apply_compat(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text("custom_imports = dict(imports=['mmcmd'], "
                      "allow_failed_imports=False)\n"
                      "model = dict(type='CMD')\n")
    result = run_fresh(f"""
        import sys
        from mmengine.config import Config
        cfg = Config.fromfile({str(config)!r})
        from mmaction.registry import MODELS, TRANSFORMS
        import mmcmd.compat
        print(MODELS.get('CMD').__name__, TRANSFORMS.get('CMDDecode').__name__,
              MODELS.get('FrozenBackbone').__name__,
              'mmaction.models.localizers.drn' in sys.modules,
              'allow_cpu_ddp' in mmcmd.compat.apply_all())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['CMD', 'CMDDecode', 'FrozenBackbone',
                                     'True', 'True']


def test_register_all_modules_after_a_light_import():
    """mmcmd imported before any OpenMMLab module stays light; one call sets
    everything up (mmaction2 then imports without a warning) and makes
    'mmaction' the default scope."""
    result = run_fresh("""
        import mmcmd.codec
        import mmengine
        import mmcmd  # already imported: nothing happens
        from mmaction.registry import MODELS
        before = 'CMD' in MODELS.module_dict
        mmcmd.register_all_modules()
        import mmaction.models
        from mmengine.registry import DefaultScope
        print(before, MODELS.get('CMD').__name__,
              MODELS.get('Recognizer3D').__name__,
              DefaultScope.get_current_instance().scope_name)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['False', 'CMD', 'Recognizer3D',
                                     'mmaction']


def test_no_compat_switch_turns_the_automatic_set_up_off():
    result = run_fresh("""
        import mmengine
        import mmcmd
        import mmcmd.compat
        import sys
        print(mmcmd.compat._APPLIED, 'mmcmd.models' in sys.modules)
    """, no_compat=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['[]', 'False']


def fake_transformers(root, version: str) -> str:
    """An installed-looking ``transformers`` VERSION without the names
    mmaction2's multimodal models import; returns the folder to put on
    PYTHONPATH."""
    package = root / 'transformers'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'modeling_utils.py').write_text('')
    info = root / f'transformers-{version}.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: transformers\nVersion: {version}\n')
    return str(root)


@pytest.mark.parametrize('version,fixed_by_us', [('5.1.0', True),
                                                 ('4.40.0', False)])
def test_transformers_5_breaks_mmaction_models_without_fix(
        tmp_path, version, fixed_by_us):
    site = fake_transformers(tmp_path, version)
    code = """
        import importlib_metadata  # noqa: F401
        {fix}
        import mmaction.models
        from mmaction.registry import MODELS
        print(MODELS.get('VindLURetrieval').__name__)
    """
    env_path = os.pathsep.join([site, str(REPO_ROOT)])

    def run(fix: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, MMCMD_NO_COMPAT='1', PYTHONPATH=env_path)
        return subprocess.run(
            [sys.executable, '-c', textwrap.dedent(code.format(fix=fix))],
            capture_output=True, text=True, env=env, timeout=120,
            cwd=str(REPO_ROOT))

    setup = ('import mmcmd.compat as c; c.provide_importlib_metadata(); '
             'c.provide_missing_drn()')
    without = run(setup)
    # A transformers without the modules VindLU needs breaks the import
    # whatever its version; the fix acts on version 5 and newer only.
    assert without.returncode != 0
    assert 'transformers' in without.stderr
    fixed = run(setup + '; assert c.skip_multimodal_with_transformers_5() '
                f'is {fixed_by_us}')
    if fixed_by_us:
        assert fixed.returncode == 0, fixed.stderr
        # mmaction's placeholder: building it explains the missing extra.
        assert fixed.stdout.strip() == 'ask_install'
    else:
        assert fixed.returncode != 0
