"""Write output files atomically: to a temporary file beside the target, then rename over it.

A reader never sees a half-written file, and an interrupted write leaves the old file in place.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from ..exceptions import OutputError

__all__ = ["atomic_write", "check_output_path"]


def check_output_path(path, *, inputs=()) -> Path:
    """Return ``path`` as a Path after checking it can be written and is not one of ``inputs``.

    Raises :class:`OutputError` when the folder does not exist, the path is a folder, or the path is
    one of the input files (inputs are never modified).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name for the output")
    if not path.parent.exists():
        raise OutputError(f"{path}: folder {path.parent} does not exist; create it first")
    for src in inputs:
        if Path(src).exists() and path.exists() and os.path.samefile(src, path):
            raise OutputError(f"{path}: is an input file; inputs are never overwritten, choose another name")
    return path


@contextmanager
def atomic_write(path, mode: str = "w", *, encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing next to ``path``; on success rename it to ``path``.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result.json"
    >>> with atomic_write(out) as f:
    ...     _ = f.write("{}")
    >>> out.read_text()
    '{}'
    """
    path = check_output_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
