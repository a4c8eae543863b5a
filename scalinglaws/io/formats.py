"""The registry of log formats: each format's module registers its name, detector and parser.

A format is a :class:`LogFormat`: how to recognise a file of it (from the file's name and its first 64 KiB) or a
folder that is one run of it (TensorBoard event folders, MLflow runs), and how to parse it into
:class:`~scalinglaws.io.logs.LogTable` s. Detectors run in increasing ``priority``; the first that claims a file
decides its format.

The built-in formats are the modules named in :data:`BUILTIN_FORMATS`; adding one is one new module of
``scalinglaws.io`` ending in a :func:`register_format` call, plus its name in that tuple. A format of your own
(outside the package) registers the same way, and :func:`~scalinglaws.ingest` then reads it::

    from scalinglaws.io.formats import LogFormat, register_format
    register_format(LogFormat("mytrainer", "my trainer's JSON logs", parse=my_parse, sniff=my_sniff))
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..exceptions import InputError

__all__ = ["LogFormat", "Probe", "register_format", "formats", "get_format", "ignored", "BUILTIN_FORMATS"]

#: Modules of ``scalinglaws.io`` that register the built-in formats (one line per format module).
BUILTIN_FORMATS = (
    "tensorboard",
    "mlflow",
    "mlflow_server",
    "huggingface",
    "lightning",
    "wandb",
    "wandb_runs",
    "wandb_offline",
    "plain",
    "textlog",
)


@dataclass(frozen=True)
class Probe:
    """What a detector sees of a file: its path, its first 64 KiB, the user's ``--regex`` (compiled, or None),
    and whether the user named the file (``named``; a file met while walking a folder is not)."""

    path: Path
    head: bytes
    regex: re.Pattern | None = None
    named: bool = True


@dataclass(frozen=True)
class LogFormat:
    """One log format.

    Attributes
    ----------
    name : str
        The format's name as results show it (``huggingface``, ``text`` ...); a parser may report a finer name
        (``text:nanogpt``).
    description : str
        A short phrase for help texts ("Hugging Face trainer_state.json").
    parse : callable ``(path, ctx) -> list[LogTable]``
        Reads one file (or one run folder, for a folder format).
    sniff : callable ``(probe) -> bool``, optional
        Whether a file is of this format.
    sniff_folder : callable ``(folder, file_names) -> bool``, optional
        Whether a folder is one run of this format (then ``parse`` gets the folder).
    priority : int
        Order of the detectors (lower first).
    ignore : callable ``(path) -> str | None``, optional
        Files this format's tool writes that are not training curves (W&B's system metrics, run summaries):
        the reason to give when one is left out (in a folder it is listed in ``skipped``; named, refused).
    sniff_uri : callable ``(text) -> bool``, optional
        Whether a path argument is an address this format reads (``mlflow://host:port/experiment``); then
        ``parse`` gets the address as text.
    """

    name: str
    description: str
    parse: Callable
    sniff: Callable[[Probe], bool] | None = None
    sniff_folder: Callable[[Path, list[str]], bool] | None = None
    priority: int = 50
    ignore: Callable[[Path], str | None] | None = None
    sniff_uri: Callable[[str], bool] | None = None


_REGISTRY: dict[str, LogFormat] = {}
_LOADED = False


def register_format(fmt: LogFormat) -> LogFormat:
    """Add a format (or replace one of the same name); returns it."""
    if not (fmt.sniff or fmt.sniff_folder or fmt.sniff_uri):
        raise InputError(f"log format {fmt.name!r} needs a sniff, sniff_folder or sniff_uri detector")
    _REGISTRY[fmt.name] = fmt
    return fmt


def _load_builtin() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for module in BUILTIN_FORMATS:
            importlib.import_module(f"{__package__}.{module}")


def formats() -> list[LogFormat]:
    """Every registered format, in detector order."""
    _load_builtin()
    return sorted(_REGISTRY.values(), key=lambda f: (f.priority, f.name))


def ignored(path: Path) -> str | None:
    """Why a file that a format's tool writes is not a log (see :attr:`LogFormat.ignore`), or None."""
    for fmt in formats():
        if fmt.ignore is not None:
            reason = fmt.ignore(path)
            if reason:
                return reason
    return None


def get_format(name: str) -> LogFormat:
    """The format registered as ``name`` (the part before ``:`` of a parser's finer name)."""
    _load_builtin()
    try:
        return _REGISTRY[name.split(":", 1)[0]]
    except KeyError:
        raise InputError(f"unknown log format {name!r}",
                         hint=f"known: {', '.join(f.name for f in formats())}") from None
