"""Write outputs atomically, and never over anything a command read.

* :func:`atomic_write`: write to a temporary file beside the target, then rename over it: a reader never sees
  a half-written file, an interrupted write leaves the old file in place. A symbolic link is written through
  (its target is replaced, atomically, and the link kept); named pipes, devices, sockets and folders are refused.
* :class:`Outputs`: every output of one command, checked together before anything is written (no output may be
  a file the command read, lie inside a folder it read, or be another output of the same command), then
  written to temporary files and renamed into place only when all of them were written: a failed command leaves
  no new output behind, and a killed one at most its temporary files.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from ..exceptions import OutputError

__all__ = ["atomic_write", "check_output_path", "Outputs", "recording_reads"]

#: The sets of paths being recorded (see :func:`recording_reads`); the audit hook adds every file opened for
#: reading to each.
_RECORDERS: list[set] = []
_HOOKED = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args) -> None:
    """Python's audit hook: every ``open`` for reading (builtins.open, io.open, os.open) while recording."""
    if event != "open" or not _RECORDERS:
        return
    try:
        path, mode, flags = args
        if isinstance(path, int) or path is None:
            return
        if mode is None:  # os.open
            if flags & _WRITE_FLAGS:
                return
        elif any(c in mode for c in "wax+"):
            return
        path = os.path.abspath(os.fsdecode(os.fspath(path)))
        for paths in _RECORDERS:
            paths.add(path)
    except Exception:  # an audit hook must never break the program
        return


@contextmanager
def recording_reads() -> Iterator[set]:
    """Record, in the set it yields, the absolute path of every file the process opens for reading while the
    block runs (readers need not list what they opened: sidecars, configs, files of a folder are all seen).

    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "runs.csv"
    >>> _ = file.write_text("run,N")
    >>> with recording_reads() as read:
    ...     _ = file.read_text()
    >>> str(file.resolve()) in {str(pathlib.Path(p).resolve()) for p in read}
    True
    """
    global _HOOKED
    if not _HOOKED:
        import sys

        sys.addaudithook(_audit)
        _HOOKED = True
    paths: set = set()
    _RECORDERS.append(paths)
    try:
        yield paths
    finally:
        _RECORDERS.remove(paths)


def _special(path: Path) -> str | None:
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    for test, what in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return None


def _real(path) -> Path:
    """The file a path writes to: symbolic links followed (the link itself is kept)."""
    return Path(os.path.realpath(path))


def _inside(child: Path, folder: Path) -> bool:
    try:
        child.relative_to(folder)
        return True
    except ValueError:
        return False


def check_output_path(path, *, inputs: Iterable = ()) -> Path:
    """The real path an output will be written to, after checking it can be and that it spares the inputs.

    Raises :class:`OutputError` (one line: the path, what is wrong, what to do) when the folder does not exist, the
    path is a folder, a named pipe, a device or a socket, or when it is (or is inside) one of ``inputs`` (files
    and folders the command reads; inputs are never modified).
    """
    path = Path(path)
    special = _special(path)
    if special:
        raise OutputError(f"{path}: is {special}; give the name of a regular file for the output")
    real = _real(path)
    if not real.parent.is_dir():
        raise OutputError(f"{path}: folder {real.parent} does not exist; create it first")
    try:
        target = os.stat(real)
        identity = (target.st_dev, target.st_ino)
    except OSError:
        identity = None
    for src in dict.fromkeys(inputs):  # each input once, in order (O(inputs) stat calls)
        src_real = _real(src)
        same = real == src_real
        if not same and identity is not None:
            try:
                info = os.stat(src_real)
                same = (info.st_dev, info.st_ino) == identity  # a hard link, or another spelling of the path
            except OSError:
                pass
        if same:
            raise OutputError(f"{path}: is an input of this command ({src}); inputs are never overwritten, "
                              "choose another name")
        if _inside(real, src_real) and src_real.is_dir():
            raise OutputError(f"{path}: is inside the folder {src} that this command reads; write it elsewhere "
                              "(it would be read as a log next time)")
    return real


@contextmanager
def atomic_write(path, mode: str = "w", *, encoding: str | None = "utf-8", inputs: Iterable = ()) -> Iterator[IO]:
    """Open a temporary file for writing next to ``path`` (its real target, for a link); on success rename it.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result.json"
    >>> with atomic_write(out) as f:
    ...     _ = f.write("{}")
    >>> out.read_text()
    '{}'
    """
    real = check_output_path(path, inputs=inputs)
    tmp = _temporary(real)
    try:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, real)
    except BaseException:
        _remove(tmp)
        raise


def _temporary(real: Path) -> str:
    """An empty temporary file beside ``real`` with the permissions ``open`` would give a new file."""
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


class Outputs:
    """The outputs of one command, written together (see the module docstring).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> outputs = Outputs(inputs=[])
    >>> outputs.add(folder / "a.txt", lambda handle: handle.write("a"))
    >>> outputs.add(folder / "b.txt", lambda handle: handle.write("b"))
    >>> [p.name for p in outputs.commit()]
    ['a.txt', 'b.txt']
    """

    def __init__(self, inputs: Iterable = (), *, record: bool = False):
        self._given = [Path(p) for p in inputs]
        self._planned: list[tuple[Path, Path, Callable, str]] = []  # (given, real, write, mode)
        self._recording = None
        self._read: set = set()
        if record:  # every file opened for reading from now on is an input too (see recording_reads)
            self._recording = recording_reads()
            self._read = self._recording.__enter__()

    @property
    def inputs(self) -> list[Path]:
        """The files and folders given as inputs, and every file opened for reading since (when recording)."""
        return [*self._given, *(Path(p) for p in sorted(self._read))]

    def protect(self, *paths) -> None:
        """Add files or folders the command reads (after it has found them, e.g. a sidecar next to a log)."""
        self._given.extend(Path(p) for p in paths if p is not None)

    def close(self) -> None:
        """Stop recording reads (:meth:`commit` does it too)."""
        if self._recording is not None:
            self._recording.__exit__(None, None, None)
            self._recording = None

    def __del__(self):
        self.close()

    def add(self, path, write: Callable[[IO], object], *, binary: bool = False) -> None:
        """Plan an output: ``write(handle)`` fills it (text, or bytes with ``binary``)."""
        real = check_output_path(path, inputs=self.inputs)
        for given, other, _, _ in self._planned:
            if other == real:
                raise OutputError(f"{path}: is also the path of another output of this command ({given}); give "
                                  "each output its own file")
        self._planned.append((Path(path), real, write, "wb" if binary else "w"))

    def __bool__(self) -> bool:
        return bool(self._planned)

    def commit(self) -> list[Path]:
        """Write every planned output to a temporary file, then rename them all; on any error remove them all."""
        written: list[tuple[str, Path]] = []
        try:
            for given, real, write, mode in self._planned:
                check_output_path(given, inputs=self.inputs)  # inputs found since add() are spared too
            self.close()  # what the writers below read (fonts, styles) is not an input
            for given, real, write, mode in self._planned:
                tmp = _temporary(real)
                written.append((tmp, real))
                with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as handle:
                    write(handle)
                    handle.flush()
                    os.fsync(handle.fileno())
            for tmp, real in written:
                os.replace(tmp, real)
        except BaseException:
            for tmp, _ in written:
                _remove(tmp)
            raise
        return [given for given, _, _, _ in self._planned]
