"""One line per user error in the command-line tools.

A tool's ``run()`` calls its ``main()`` and hands any exception that
escapes it to :func:`report_error`: one line ``error: <Type>: <message>``
on stderr and exit status 1, instead of a traceback of hundreds of lines
after the config dump. ``--debug`` on the command line (or the
environment variable ``MMCMD_DEBUG=1``) keeps the full traceback.
"""
from __future__ import annotations

import os
import sys
import traceback
from typing import List, Optional, Sequence

#: environment variable that turns on full tracebacks, like ``--debug``.
DEBUG_ENV = 'MMCMD_DEBUG'
#: help text of ``--debug`` in every tool.
DEBUG_HELP = ('on an error, show the full Python traceback instead of one '
              f'line (also: {DEBUG_ENV}=1 in the environment)')
#: longest message of :func:`error_line`, in characters.
MAX_MESSAGE = 600


def debug_requested(argv: Optional[Sequence[str]] = None) -> bool:
    """Whether ``--debug`` is among the arguments or ``MMCMD_DEBUG`` is set.

    Args:
        argv: the tool's arguments; ``sys.argv[1:]`` when None.
    """
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    env = os.environ.get(DEBUG_ENV, '').strip().lower()
    return '--debug' in args or env not in ('', '0', 'false', 'no')


def error_line(error: BaseException) -> str:
    """``error: <Type>: <message>`` on one line, the message shortened.

    Args:
        error: the exception that stopped the tool.
    """
    message = ' '.join(str(error).split())
    if isinstance(error, KeyError) and len(error.args) == 1:
        message = str(error.args[0])  # KeyError quotes its argument
    if not message and error.__traceback__ is not None:
        # e.g. a bare ``assert``: where it failed is all there is to say
        frame = traceback.extract_tb(error.__traceback__)[-1]
        message = (f'{os.path.basename(frame.filename)} line {frame.lineno}'
                   + (f': {frame.line}' if frame.line else ''))
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 3] + '...'
    from .config_options import ConfigOptionError
    if isinstance(error, ConfigOptionError):
        return f'error: {message}'  # already names the option
    name = type(error).__name__
    return f'error: {name}: {message}' if message else f'error: {name}'


def report_error(error: BaseException, status: int = 1) -> int:
    """Print :func:`error_line` and a pointer to ``--debug`` to stderr.

    Args:
        error: the exception that stopped the tool.
        status: the exit status to return.

    Returns:
        ``status``.
    """
    from .config_options import ConfigOptionError
    hint = '' if isinstance(error, ConfigOptionError) else (
        ' (--debug for the traceback)')
    print(error_line(error) + hint, file=sys.stderr)
    return status
