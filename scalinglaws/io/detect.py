"""Tell which format a log is, and find the logs in folders.

Detection asks the registered formats (:mod:`scalinglaws.io.formats`), in their order, whether they claim a file
(from its name and first 64 KiB) or a folder (TensorBoard event folders, MLflow runs):

==================  =============================================================================================
format              recognised by
==================  =============================================================================================
``mlflow``          a folder holding ``meta.yaml`` and ``metrics/`` (one MLflow run)
``tensorboard``     a folder holding ``events.out.tfevents.*`` files (one run per folder)
``huggingface``     ``trainer_state.json``, or a JSON file with a ``log_history`` list
``lightning``       ``metrics.csv`` with ``step`` and ``epoch`` columns (or next to ``hparams.yaml``)
``wandb-csv``       a CSV whose columns after the first are all ``<run> - <metric>`` with ``__MIN``/``__MAX``
``wandb-history``   JSON Lines whose records carry W&B's ``_step``/``_runtime``/``_timestamp``
``table``           other CSV/TSV/JSON Lines/JSON/Parquet files (a step column is then required)
``text:<dialect>``  any other text file whose lines match a trainer's (see :mod:`scalinglaws.io.textlog`),
                    or the user's ``--regex``
==================  =============================================================================================

Before any format is asked, a file must be a regular file (named pipes, devices and sockets are refused when
named and skipped in folders: reading one could block forever) and not a Git LFS pointer (a placeholder for a
file that was never downloaded). In folders, files that are none of the formats (checkpoints, images, READMEs)
are listed as skipped with the reason, and sidecar tables (``runs.csv``) and config files are read as metadata
(see :mod:`scalinglaws.io.runs`). Hidden folders (``.git``, MLflow's ``.trash``, ``.ipynb_checkpoints``) are
not entered, and say so. A file given by name that is none of these is an error.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import InputError, InputFileNotFoundError
from .formats import LogFormat, Probe, formats, get_format
from .runs import SIDECAR_NAMES, is_metadata_file

__all__ = ["Found", "detect_file", "discover", "special_file", "LFS_POINTER"]

_HEAD = 65536
#: The first bytes of a Git LFS pointer file (the placeholder git leaves when the real file was not pulled).
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


@dataclass(frozen=True)
class Found:
    """A log to parse: its format, its path (a file, or a run folder) and the folder it was found under."""

    format: str
    path: Path
    root: Path | None

    @property
    def parser(self):
        """The format's ``parse(path, ctx)``."""
        return get_format(self.format).parse


def special_file(path: Path) -> str | None:
    """What a path is when it is not a regular file or folder (``"a named pipe"``, ...), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    for test, what in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return None


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD)
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror})", path=path, hint="check the permissions") from None


def _lfs_hint(path: Path) -> str:
    return f"fetch the real file with 'git lfs pull --include \"{path.name}\"' in its repository"


def detect_file(path: Path, regex: re.Pattern | None = None, *, named: bool = True) -> str | None:
    """The format of a log file, or None when it is not one (``named``: the user gave this file by name).

    A Git LFS pointer is an :class:`InputError` saying what to run; a special file (named pipe, device) one
    saying what it is.
    """
    special = special_file(path)
    if special:
        raise InputError(f"is {special}, not a file", path=path, hint="give a regular file")
    head = _head(path)
    if head.startswith(LFS_POINTER):
        raise InputError("is a Git LFS pointer, not the log itself", path=path, hint=_lfs_hint(path))
    probe = Probe(path, head, regex, named)
    for fmt in formats():
        if fmt.sniff is not None and fmt.sniff(probe):
            return fmt.name
    return None


def discover(paths, regex: re.Pattern | None = None) -> tuple[list[Found], list[tuple[str, str]], list[Path]]:
    """The logs under ``paths`` (files or folders), what was passed over in folders (path, reason), and the
    sidecar tables."""
    found: list[Found] = []
    passed: list[tuple[str, str]] = []
    sidecars: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InputFileNotFoundError("not found", path=path, hint="check the path")
        if not path.is_dir():
            kind = detect_file(path, regex)
            if kind is None:
                raise InputError("cannot tell what kind of log this is", path=path,
                                 hint=f"scalinglaws reads {_known()}; for another text log give --regex")
            fmt = get_format(kind)
            found.append(Found(kind, path.parent if fmt.sniff_folder else path, None))
            continue
        before = len(found)
        _walk(path, regex, found, passed, sidecars)
        if len(found) == before:
            raise InputError("no training logs found in this folder", path=path,
                             hint=f"{len(passed)} files were not logs" if passed else "the folder is empty")
    return found, passed, sidecars


def _known() -> str:
    return ", ".join(f.description for f in formats())


def _walk(root: Path, regex, found: list[Found], passed: list[tuple[str, str]], sidecars: list[Path]) -> None:
    folder_formats: list[LogFormat] = [f for f in formats() if f.sniff_folder is not None]
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for d in dirs:
            if d.startswith(".") and d not in (".", ".."):
                passed.append((str(here / d), "hidden folders (not entered)"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        claimed = next((f for f in folder_formats if f.sniff_folder(here, files)), None)
        if claimed is not None:
            found.append(Found(claimed.name, here, root))
            if claimed.sniff is None:  # the folder is the whole run (MLflow): nothing below is a log of its own
                dirs[:] = []
                continue
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                continue
            if claimed is not None and claimed.sniff(Probe(path, b"", regex, False)):
                continue  # part of the folder's run
            if name in SIDECAR_NAMES:
                sidecars.append(path)
                continue
            if is_metadata_file(path):
                continue
            special = special_file(path)
            if special:
                passed.append((str(path), f"special files ({special}), not read"))
                continue
            try:
                kind = detect_file(path, regex, named=False)
            except InputError as err:
                passed.append((str(path), "Git LFS pointers (run 'git lfs pull')" if "LFS" in err.problem
                               else f"unreadable files ({err.problem})"))
                continue
            if kind is None:
                passed.append((str(path), "files that are not logs"))
            else:
                found.append(Found(kind, path, root))
