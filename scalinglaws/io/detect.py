"""Tell which format a log is, and find the logs in folders.

Detection looks at names first, then at the first 64 KiB of a file:

==================  =============================================================================================
format              recognised by
==================  =============================================================================================
``tensorboard``     a folder holding ``events.out.tfevents.*`` files (one run per folder)
``mlflow``          a folder holding ``meta.yaml`` and ``metrics/`` (one MLflow run)
``huggingface``     ``trainer_state.json``, or a JSON file with a ``log_history`` list
``lightning``       ``metrics.csv`` with ``step`` and ``epoch`` columns (or next to ``hparams.yaml``)
``wandb-csv``       a CSV whose columns after the first are all ``<run> - <metric>`` with ``__MIN``/``__MAX``
``wandb-history``   JSON Lines whose records carry W&B's ``_step``/``_runtime``/``_timestamp``
``table``           other CSV/TSV/JSON Lines/JSON/Parquet files (a step column is then required)
``text:<dialect>``  any other text file whose lines match a trainer's (see :mod:`scalinglaws.io.textlog`),
                    or the user's ``--regex``
==================  =============================================================================================

In folders, files that are none of these (checkpoints, images, READMEs) are listed as ignored, and sidecar
tables (``runs.csv``) and config files are read as metadata (see :mod:`scalinglaws.io.runs`). Hidden folders
(``.git``, MLflow's ``.trash``) are not entered. A file given by name that is none of these is an error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import InputError, InputFileNotFoundError
from . import huggingface, lightning, mlflow, plain, tensorboard, textlog, wandb
from .runs import SIDECAR_NAMES, is_metadata_file

__all__ = ["Found", "PARSERS", "detect_file", "discover"]

#: Parser of each format: ``parse(path, ctx) -> list[LogTable]``.
PARSERS = {
    "tensorboard": tensorboard.parse,
    "mlflow": mlflow.parse,
    "huggingface": huggingface.parse,
    "lightning": lightning.parse,
    "wandb-csv": wandb.parse_csv,
    "wandb-history": wandb.parse_history,
    "table": plain.parse,
    "text": textlog.parse,
}
_HEAD = 65536
_TEXT_SUFFIXES = ("", ".log", ".txt", ".out", ".err", ".stdout", ".stderr")


@dataclass(frozen=True)
class Found:
    """A log to parse: its format, its path (a file, or a run folder) and the folder it was found under."""

    format: str
    path: Path
    root: Path | None


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD)
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror})", path=path, hint="check the permissions") from None


def detect_file(path: Path, regex: re.Pattern | None = None, *, strict: bool = True) -> str | None:
    """The format of a log file, or None when it is not one (``strict``: a doubtful JSON file is a table)."""
    if tensorboard.sniff(path, b""):
        return "tensorboard"
    head = _head(path)
    if huggingface.sniff(path, head):
        return "huggingface"
    if lightning.sniff(path, head):
        return "lightning"
    if wandb.sniff_csv(path, head):
        return "wandb-csv"
    if wandb.sniff_history(path, head):
        return "wandb-history"
    if plain.sniff(path, head):
        if path.suffix.lower() == ".json" and not strict and not head.lstrip().startswith(b"["):
            return None  # a JSON object that is not a trainer state: a config or a result, not a log
        return "table"
    if path.suffix.lower() in _TEXT_SUFFIXES or regex is not None or strict:
        if b"\x00" not in head[:4096] and textlog.sniff(path, head, regex):
            return "text"
    return None


def discover(paths, regex: re.Pattern | None = None) -> tuple[list[Found], list[str], list[Path]]:
    """The logs under ``paths`` (files or folders), the files ignored in folders, and the sidecar tables."""
    found: list[Found] = []
    ignored: list[str] = []
    sidecars: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InputFileNotFoundError("not found", path=path, hint="check the path")
        if path.is_file():
            if path.name.startswith(tensorboard.PREFIX):
                found.append(Found("tensorboard", path.parent, None))
                continue
            kind = detect_file(path, regex)
            if kind is None:
                raise InputError("cannot tell what kind of log this is", path=path,
                                 hint="scalinglaws reads W&B exports, TensorBoard events, trainer_state.json, "
                                      "Lightning/MLflow/CSV/JSONL/Parquet tables and nanoGPT/Megatron/torchtitan "
                                      "logs; for another text log give --regex")
            found.append(Found(kind, path, None))
            continue
        before = len(found)
        _walk(path, regex, found, ignored, sidecars)
        if len(found) == before:
            raise InputError("no training logs found in this folder", path=path,
                             hint=f"{len(ignored)} files were not logs" if ignored else "the folder is empty")
    return found, ignored, sidecars


def _walk(root: Path, regex, found: list[Found], ignored: list[str], sidecars: list[Path]) -> None:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        if mlflow.is_run(here):
            found.append(Found("mlflow", here, root))
            dirs[:] = []
            continue
        if any(f.startswith(tensorboard.PREFIX) for f in files):
            found.append(Found("tensorboard", here, root))
        for name in sorted(files):
            path = here / name
            if name.startswith(tensorboard.PREFIX) or name.startswith("."):
                continue
            if name in SIDECAR_NAMES:
                sidecars.append(path)
                continue
            if is_metadata_file(path):
                continue
            kind = detect_file(path, regex, strict=False)
            if kind is None:
                ignored.append(str(path))
            else:
                found.append(Found(kind, path, root))
