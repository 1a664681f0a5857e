"""Every command line of README.md and docs/*.md names a script that exists
and flags its --help knows, and every config path the pages mention exists.

The commands are read from the pages' fenced code blocks (continuation
lines joined); each distinct Python tool's ``--help`` runs once, in this
process (``main(['--help'])``).
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from functools import lru_cache

import pytest
from suite_utils import REPO_ROOT, load_tool

PAGES = [REPO_ROOT / 'README.md'] + sorted((REPO_ROOT / 'docs').glob('*.md'))
FENCE = re.compile(r'^```[^\n]*\n(.*?)^```', re.M | re.S)
INLINE = re.compile(r'(?<!`)`((?:python|bash) tools/[^`\n]+)`(?!`)')
COMMAND = re.compile(r'(?:^|[\s;&|(])(python|bash)\s+(tools/[\w./-]+)')
CONFIG_PATH = re.compile(r'configs/[\w./-]+\.py')


def code_lines(text: str) -> list[str]:
    """Lines of the fenced blocks, backslash continuations joined, and
    inline code that starts with ``python tools/`` or ``bash tools/``."""
    lines = []
    for block in FENCE.findall(text):
        joined = re.sub(r'\s*\\\n\s*', ' ', block)
        lines.extend(line.strip() for line in joined.splitlines())
    lines.extend(INLINE.findall(FENCE.sub('', text)))
    return lines


def used_flags(rest: str) -> list[str]:
    """The ``--flag`` / ``-f`` options of the text after a script name
    (placeholders such as ``[--resume [CKPT]]`` included, comments not)."""
    rest = re.split(r'\s#\s|\s#$', rest)[0]
    rest = re.split(r'\s(?:&&|\|\||;|\|)\s', rest)[0]
    try:
        tokens = shlex.split(rest)
    except ValueError:
        tokens = rest.split()
    flags = []
    for token in tokens:
        token = token.strip('[]')
        match = re.fullmatch(r'(--?[A-Za-z][\w-]*)(=.*)?', token)
        if match:
            flags.append(match.group(1))
    return flags


def doc_commands() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(page, line, script, flags) of every documented tool command."""
    found = []
    for page in PAGES:
        for line in code_lines(page.read_text(encoding='utf-8')):
            for match in COMMAND.finditer(line):
                rest = line[match.end():]
                following = COMMAND.search(rest)
                if following:
                    rest = rest[:following.start()]
                found.append((page.relative_to(REPO_ROOT).as_posix(), line,
                               match.group(2), tuple(used_flags(rest))))
    return found


COMMANDS = doc_commands()


@lru_cache(maxsize=None)
def help_flags(script: str) -> frozenset:
    """Option strings of a Python tool's ``--help`` (run once per tool)."""
    tool = load_tool(script)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), \
            pytest.raises(SystemExit) as done:
        tool.main(['--help'])
    assert done.value.code in (0, None), f'{script} --help failed'
    text = out.getvalue()
    assert text.startswith('usage:'), f'{script} --help printed {text!r}'
    return frozenset(re.findall(r'(?<![\w-])(--?[A-Za-z][\w-]*)', text))


def test_the_pages_have_commands():
    scripts = {script for _, _, script, _ in COMMANDS}
    assert {'tools/train.py', 'tools/test.py', 'tools/dist_train.sh',
            'tools/data/build_video_list.py'} <= scripts
    assert ('docs/workflows.md', 'tools/train.py') in {
        (page, script) for page, _, script, flags in COMMANDS
        if '--smoke' in flags}


def test_every_documented_script_exists():
    missing = sorted({f'{page}: {script}' for page, _, script, _ in COMMANDS
                      if not (REPO_ROOT / script).is_file()})
    assert not missing


@pytest.mark.parametrize('script', sorted({
    s for _, _, s, _ in COMMANDS if s.endswith('.py')}))
def test_documented_flags_are_known_to_the_tool(script):
    known = help_flags(script)
    unknown = sorted({f'{page}: {flag} in "{line}"'
                      for page, line, s, flags in COMMANDS if s == script
                      for flag in flags if flag not in known})
    assert not unknown


def test_every_config_path_mentioned_exists():
    missing = []
    for page in PAGES:
        for path in sorted(set(CONFIG_PATH.findall(page.read_text()))):
            if not (REPO_ROOT / path).is_file():
                missing.append(f'{page.relative_to(REPO_ROOT)}: {path}')
    assert not missing


def test_flag_extraction():
    assert used_flags('CONFIG [--resume [CKPT]] --cfg-options a=1  # --x') \
        == ['--resume', '--cfg-options']
    assert used_flags("a.mp4 -k 10 --out=x && python b.py --y") == [
        '-k', '--out']
    assert code_lines('```bash\npython tools/a.py \\\n    --b 1\n```\n'
                      'or `python tools/c.py --d`') == [
        'python tools/a.py --b 1', 'python tools/c.py --d']
