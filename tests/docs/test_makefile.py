"""``make test ARGS=...`` as the README shows it: test paths in ARGS replace
the default ``tests``, options alone keep it (checked with ``make -n``)."""
from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest
from suite_utils import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which('make') is None,
                                reason='make is not installed')


def pytest_command(args: str) -> list:
    """The words of the pytest line ``make -n test ARGS=args`` prints."""
    result = subprocess.run(['make', '-n', '-C', str(REPO_ROOT), 'test',
                             f'ARGS={args}'], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines()
             if ' -m pytest' in line]
    assert len(lines) == 1, result.stdout
    words = shlex.split(lines[0])
    return words[words.index('pytest') + 1:]


def test_paths_in_args_replace_the_whole_suite():
    assert pytest_command('tests/codec -x') == ['-q', 'tests/codec', '-x']
    assert pytest_command('tests/docs/test_makefile.py::'
                          'test_paths_in_args_replace_the_whole_suite') == [
        '-q', 'tests/docs/test_makefile.py::'
        'test_paths_in_args_replace_the_whole_suite']


def test_options_alone_run_the_whole_suite():
    assert pytest_command("-m 'not slow'") == ['tests', '-q', '-m',
                                               'not slow']
    assert pytest_command('') == ['tests', '-q']
