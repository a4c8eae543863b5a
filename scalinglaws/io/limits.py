"""Bounds on the work a user's input can cause: a user's regular expression is checked before use and each
match runs under a time limit.

Python's ``re`` has no timeout (and the ``regex`` package, which has one, is not a dependency), so:

* :func:`check_pattern` refuses patterns with a repeat inside a repeat (``(a+)+``, ``(\\w+\\s?)*``, ``(.*)*``),
  the shape of catastrophic backtracking, before any file is read;
* :func:`time_limit` bounds each match: ``re`` checks for signals while it backtracks, so a ``SIGALRM`` timer
  interrupts it; a match that runs longer than :data:`REGEX_SECONDS` is an :class:`InputError` naming the file
  and line. The timer works in the main thread of a process on Unix (where the command line and ingestion
  workers run); elsewhere the pattern check alone applies;
* lines longer than :data:`MAX_LINE` characters are not matched (no trainer prints such a metric line).

And a file is never opened when it is a named pipe, a device or a socket (:func:`refuse_special`): reading one
blocks forever (a pipe) or never ends (``/dev/zero``).
"""

from __future__ import annotations

import os
import re
import signal
import stat
import threading
from contextlib import contextmanager

from ..exceptions import InputError

__all__ = ["check_pattern", "time_limit", "RegexTimeout", "REGEX_SECONDS", "MAX_LINE", "refuse_special"]

#: Longest a user's regular expression may take on one line (or on the head of a file, to detect it).
REGEX_SECONDS = 2.0
#: Lines longer than this are not matched against a user's regular expression.
MAX_LINE = 65536


class RegexTimeout(Exception):
    """A match ran past its time limit (raised inside :func:`time_limit`)."""


def _repeats(items, inside: bool) -> str | None:
    """The first repeat nested in a repeat of the parsed pattern ``items``, as text, or None."""
    try:
        from re import _constants as constants, _parser as parser  # Python >= 3.11
    except ImportError:  # pragma: no cover
        import sre_constants as constants  # type: ignore[no-redef]
        import sre_parse as parser  # type: ignore[no-redef]  # noqa: F401
    repeat = {constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)}
    for op, arg in items:
        if op in repeat:
            lo, hi, sub = arg
            unbounded = hi == constants.MAXREPEAT or hi > 1000
            if inside and (unbounded or hi > 1):
                return "a repeat inside a repeat"
            found = _repeats(sub, inside or unbounded)
            if found:
                return found
        elif op == constants.SUBPATTERN:
            found = _repeats(arg[-1], inside)
            if found:
                return found
        elif op == constants.BRANCH:
            for branch in arg[1]:
                found = _repeats(branch, inside)
                if found:
                    return found
        elif op in (constants.ASSERT, constants.ASSERT_NOT):
            found = _repeats(arg[1], inside)
            if found:
                return found
    return None


def check_pattern(compiled: re.Pattern) -> None:
    """Refuse a pattern whose backtracking can take exponential time (a repeat inside a repeat)."""
    try:
        from re import _parser as parser
    except ImportError:  # pragma: no cover
        import sre_parse as parser  # type: ignore[no-redef]
    problem = _repeats(parser.parse(compiled.pattern, compiled.flags), False)
    if problem:
        raise InputError(f"the regular expression {compiled.pattern!r} has {problem} (like '(a+)+'), which can "
                         "take exponential time on a line that almost matches",
                         hint="repeat a single character class instead, e.g. '[0-9.]+' or '.*'")


@contextmanager
def time_limit(seconds: float = REGEX_SECONDS):
    """Raise :class:`RegexTimeout` in the block after ``seconds`` (a no-op off the main thread, without
    ``SIGALRM``, or when another timer is running)."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))
    if not usable:
        yield
        return

    def expired(signum, frame):
        raise RegexTimeout()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refuse_special(path) -> None:
    """Raise :class:`InputError` when ``path`` is a named pipe, a device or a socket (opening it to read would
    block or never end); regular files, folders and missing paths pass (their readers say what is wrong)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    for test, what in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            raise InputError(f"is {what}, not a file", path=path, hint="give a regular file")
