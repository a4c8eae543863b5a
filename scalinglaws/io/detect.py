"""Tell which format a log is, and find the logs in folders.

Detection asks the registered formats (:mod:`scalinglaws.io.formats`), in their order, whether they claim a file
(from its name and first 64 KiB) or a folder (TensorBoard event folders, MLflow runs):

==================  =============================================================================================
format              recognised by
==================  =============================================================================================
``mlflow-server``   a path ``mlflow://host:port/<experiment>``, or any path not on disk with ``tracking_uri``
``mlflow``          a folder holding ``meta.yaml`` and ``metrics/`` (one MLflow run)
``wandb-run``       a folder holding ``run-*.wandb`` (a W&B run directory: the whole folder is the run)
``tensorboard``     a folder holding ``events.out.tfevents.*`` files (one run per folder)
``huggingface``     ``trainer_state.json``, or a JSON file with a ``log_history`` list
``lightning``       ``metrics.csv`` with ``step`` and ``epoch`` columns (or next to ``hparams.yaml``)
``wandb-runs``      a CSV with W&B's runs-table header (``Name``, ``State``, ``Created``, ``Runtime`` ...)
``wandb-csv``       a CSV whose columns after the first are all ``<run> - <metric>`` with ``__MIN``/``__MAX``
``wandb-history``   JSON Lines whose records carry W&B's ``_step``/``_runtime``/``_timestamp``
``table``           other CSV/TSV/JSON Lines/JSON/Parquet files (a step column is then required), and CSV/TSV
                    content saved as ``.log``/``.txt``
``text:<dialect>``  any other text file whose lines match a trainer's (see :mod:`scalinglaws.io.textlog`),
                    or the user's ``--regex``
==================  =============================================================================================

Before any format is asked, a file must be a regular file (named pipes, devices and sockets are refused when
named and skipped in folders: reading one could block forever) and not a Git LFS pointer (a placeholder for a
file that was never downloaded). In folders, files that are none of the formats (checkpoints, images, READMEs)
are listed as skipped with the reason, and sidecar tables (``runs.csv``) and config files are read as metadata
(see :mod:`scalinglaws.io.runs`); files a tool writes that are not curves (W&B's ``wandb-events.jsonl``) are
listed with what they are. Git LFS pointers are listed as such (in a TensorBoard folder too). Hidden folders
(``.git``, MLflow's ``.trash``) are not entered, and say so; the files of ``.ipynb_checkpoints`` folders are
listed one by one. A file given by name that is none of these is an error.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import InputError, InputFileNotFoundError
from ..schema import counted
from .formats import LogFormat, Probe, formats, get_format, ignored
from .runs import SIDECAR_NAMES, is_metadata_file

__all__ = ["Found", "detect_file", "discover", "special_file", "is_lfs_pointer", "LFS_POINTER", "LFS_REASON"]

_HEAD = 65536
#: The first bytes of a Git LFS pointer file (the placeholder git leaves when the real file was not pulled).
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


@dataclass(frozen=True)
class Found:
    """A log to parse: its format, its path (a file, a run folder, or an address such as ``mlflow://...``) and
    the folder it was found under (None: the user named it)."""

    format: str
    path: Path | str
    root: Path | None

    @property
    def parser(self):
        """The format's ``parse(path, ctx)``."""
        return get_format(self.format).parse

    @property
    def named(self) -> bool:
        """Whether the user named this log (an error in it stops the ingest) rather than it being met in a
        folder (an error in it skips it, and says why)."""
        return self.root is None


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


def lfs_hint(path: Path) -> str:
    """What to run for a Git LFS pointer."""
    return f"fetch the real file with 'git lfs pull --include \"{path.name}\"' in its repository"


def is_lfs_pointer(path: Path) -> bool:
    """Whether a file is a Git LFS pointer (the placeholder git leaves when the real file was not pulled)."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(LFS_POINTER)) == LFS_POINTER
    except OSError:
        return False


#: The reason a Git LFS pointer met in a folder is listed in ``skipped``.
LFS_REASON = "Git LFS pointers, not the files themselves (run 'git lfs pull')"
#: The reason for the files of Jupyter's ``.ipynb_checkpoints`` folders.
JUPYTER_REASON = "Jupyter checkpoint copies (.ipynb_checkpoints), not read"


def detect_file(path: Path, regex: re.Pattern | None = None, *, named: bool = True) -> str | None:
    """The format of a log file, or None when it is not one (``named``: the user gave this file by name).

    A Git LFS pointer is an :class:`InputError` saying what to run; a special file (named pipe, device) one
    saying what it is; a file a format's tool writes that is not a log (W&B's ``wandb-events.jsonl``) one
    saying what it is.
    """
    special = special_file(path)
    if special:
        raise InputError(f"is {special}, not a file", path=path, hint="give a regular file")
    head = _head(path)
    if head.startswith(LFS_POINTER):
        raise InputError("is a Git LFS pointer, not the log itself", path=path, hint=lfs_hint(path))
    reason = ignored(path)
    if reason:
        raise InputError(f"is one of the {reason}", path=path, hint="give the run's training log or its folder")
    probe = Probe(path, head, regex, named)
    for fmt in formats():
        try:
            if fmt.sniff is not None and fmt.sniff(probe):
                return fmt.name
        except RecursionError:  # e.g. deeply nested JSON: not this format (the reader says what it is)
            continue
    return None


def _uri_format(text: str) -> str | None:
    for fmt in formats():
        if fmt.sniff_uri is not None and fmt.sniff_uri(text):
            return fmt.name
    return None


def discover(paths, regex: re.Pattern | None = None, *, tracking_uri: str | None = None
             ) -> tuple[list[Found], list[tuple[str, str]], list[Path]]:
    """The logs under ``paths`` (files, folders, or addresses of tracking servers), what was passed over in
    folders (path, reason), and the sidecar tables. With ``tracking_uri``, a path that is not on disk names an
    experiment on that MLflow server."""
    found: list[Found] = []
    passed: list[tuple[str, str]] = []
    sidecars: list[Path] = []
    for given in paths:
        if not str(given).strip():  # Path("") is the current folder: never read it for an empty argument
            raise InputError("the path is empty", hint="give a file or folder name")
        kind = _uri_format(str(given))
        if kind is not None:
            found.append(Found(kind, str(given), None))
            continue
        path = Path(given)
        if not path.exists():
            if tracking_uri is not None:
                found.append(Found("mlflow-server", str(given), None))
                continue
            raise InputFileNotFoundError("not found", path=path, hint="check the path")
        if not path.is_dir():
            try:
                kind = detect_file(path, regex)
            except InputError:
                raise
            if kind is None:
                from .textlog import no_match_hint

                hint = (no_match_hint(path, regex) if regex is not None
                        else f"scalinglaws reads {_known()}; for another text log give --regex")
                raise InputError("cannot tell what kind of log this is", path=path, hint=hint)
            fmt = get_format(kind)
            found.append(Found(kind, path.parent if fmt.sniff_folder else path, None))
            continue
        before, skipped_before = len(found), len(passed)
        _walk(path, regex, found, passed, sidecars)
        if len(found) == before:
            mine = passed[skipped_before:]
            listed = "; ".join(f"{Path(p).relative_to(path) if Path(p).is_relative_to(path) else p}: {r}"
                               for p, r in mine[:3])
            more = f"; and {len(mine) - 3} more" if len(mine) > 3 else ""
            hint = (f"{counted(len(mine), 'file')} {'was' if len(mine) == 1 else 'were'} left out: {listed}{more}"
                    if mine else "the folder is empty")
            if regex is not None and any(r == _NOT_LOGS for _, r in mine):
                hint += f" (--regex {regex.pattern!r} matches no line of them)"
            elif any(r == _NOT_LOGS and Path(p).suffix.lower() in (".log", ".txt", ".out") for p, r in mine):
                hint += "; a console log of a trainer scalinglaws does not know is read with --regex"
            raise InputError("no training logs found in this folder", path=path, hint=hint)
    return found, passed, sidecars


_NOT_LOGS = "files that are not logs"
#: Files an MLflow run saved as artifacts (models, plots, TensorBoard copies): listed, not read.
ARTIFACTS_REASON = "MLflow run artifacts (files the run saved; its metrics are read from the run)"


def _known() -> str:
    return ", ".join(f.description for f in formats() if f.sniff is not None or f.sniff_folder is not None)


#: Why a TensorBoard folder that copies another log of the same run is not read as a run of its own.
TB_COPY_HF = "TensorBoard copies of a Trainer run (its trainer_state.json holds the same curve, and is read)"
TB_COPY_LIGHTNING = "TensorBoard copies of a Lightning run (its metrics.csv beside them is read)"


def _copy_of_another_log(folder: Path, files: list[str], root: Path) -> str | None:
    """Whether a TensorBoard folder is the copy a trainer writes of a run logged in a format read anyway: the
    Hugging Face Trainer's ``<output>/runs/<time>_<host>/`` next to ``<output>/trainer_state.json`` (or its
    checkpoints'), or Lightning's TensorBoardLogger writing into the folder of a CSVLogger's ``metrics.csv``.
    The Trainer's output counts only when it lies under ``root`` (the folder being read): given ``runs/`` alone,
    the state is not read, so the events are the run."""
    if "metrics.csv" in files:
        return TB_COPY_LIGHTNING
    if folder.parent.name == "runs":
        output = folder.parent.parent
        inside = output == root or root in output.parents
        if inside and ((output / "trainer_state.json").is_file() or any(output.glob("checkpoint-*/trainer_state.json"))):
            return TB_COPY_HF
    return None


def _walk(root: Path, regex, found: list[Found], passed: list[tuple[str, str]], sidecars: list[Path]) -> None:
    folder_formats: list[LogFormat] = [f for f in formats() if f.sniff_folder is not None]
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for d in dirs:
            if d == ".ipynb_checkpoints":  # copies of notebooks' files: each one counted
                copies = [Path(f, n) for f, _, names in os.walk(here / d) for n in names]
                passed.extend((str(p), JUPYTER_REASON) for p in sorted(copies))
                if not copies:
                    passed.append((str(here / d), JUPYTER_REASON))
            elif d.startswith(".") and d not in (".", ".."):
                passed.append((str(here / d), "hidden folders (not entered)"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        claimed = next((f for f in folder_formats if f.sniff_folder(here, files)), None)
        if claimed is not None and claimed.sniff is not None:
            own = [n for n in files if claimed.sniff(Probe(here / n, b"", regex, False))]
            pointers = [n for n in own if is_lfs_pointer(here / n)]
            passed.extend((str(here / n), LFS_REASON) for n in sorted(pointers))
            if len(pointers) == len(own):  # every file of the run is a pointer: no run here
                files = [n for n in files if n not in pointers]
                claimed = None
        copy = _copy_of_another_log(here, files, root) if claimed is not None and claimed.name == "tensorboard" \
            else None
        if copy is not None:  # the trainer's TensorBoard copy of a run whose own log is read
            copies = [n for n in sorted(files) if claimed.sniff(Probe(here / n, b"", regex, False))]
            passed.extend((str(here / n), copy) for n in copies)
            files = [n for n in files if n not in copies]  # listed once, not read again below
            claimed = None
        if claimed is not None:
            found.append(Found(claimed.name, here, None if here == root else root))  # a run folder named: named
            if claimed.sniff is None:  # the folder is the whole run (MLflow): nothing below is a log of its own
                dirs[:] = []
                saved = [Path(f, n) for f, _, names in os.walk(here / "artifacts") for n in names]
                passed.extend((str(p), ARTIFACTS_REASON) for p in sorted(saved))
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
            reason = ignored(path)
            if reason:
                passed.append((str(path), reason))
                continue
            try:
                kind = detect_file(path, regex, named=False)
            except InputError as err:
                passed.append((str(path), LFS_REASON if "LFS" in err.problem else f"unreadable files ({err.problem})"))
                continue
            if kind is None:
                passed.append((str(path), _NOT_LOGS))
            else:
                found.append(Found(kind, path, root))
