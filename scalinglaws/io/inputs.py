"""One way in: :func:`read_input` reads a table of runs, a table of logged steps, or training logs (a log file of
any registered format, or a folder of them) into the table a fit needs, and says what it did.

The rule that tells a table of runs from a log (:func:`is_log`): a folder is logs; a file a log format claims is
a log; a plain table is a log when it has a step column and is not one row per run (a parameter column together
with a token or compute column). Asked for curves, a plain table is read as a table of steps as it is.

Points come from logs by :meth:`~scalinglaws.io.ingestion.Ingested.points` (the final, smoothed or best loss of
each run); curves are the ingested steps themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..exceptions import InputError
from ..schema import POINTS_ALIASES, normalize, points_table
from .detect import detect_file
from .ingestion import Ingested, ingest
from .names import step_key
from .points import HOWS, METRICS
from .tables import read_curves, read_points, read_table

__all__ = ["LogOptions", "ReadOptions", "Input", "read_input", "is_log", "KINDS"]

#: What :func:`read_input` can return: one row per run (``points``) or one row per logged step (``curves``).
KINDS = ("points", "curves")


@dataclass(frozen=True)
class LogOptions:
    """How training logs are read (see :func:`~scalinglaws.io.ingestion.ingest`) and turned into points (see
    :func:`~scalinglaws.io.points.points_from_curves`).

    ``runs``: a sidecar runs table; ``regex``: a pattern for other text logs; ``keys``: role → logged metric;
    ``params``: ``"non_embedding"`` or ``"total"`` N from model configs; ``skip_bad_lines``; ``diverge_factor``;
    ``how`` (``final``, ``ema``, ``best``), ``metric`` (``auto``, ``eval``, ``train``), ``ema`` and ``ema_unit``
    (the window, in ``steps`` or ``tokens``) of each run's point; ``strict`` (stop at a bad log in a folder),
    ``tracking_uri`` (an MLflow server whose experiments the paths name), ``n_jobs`` and ``progress`` (reading
    many logs).
    """

    runs: str | None = None
    regex: str | None = None
    keys: Mapping[str, str] | None = None
    params: str = "non_embedding"
    skip_bad_lines: bool = False
    diverge_factor: float = 1.25
    how: str = "final"
    metric: str = "auto"
    ema: float = 10
    ema_unit: str = "steps"
    strict: bool = False
    tracking_uri: str | None = None
    n_jobs: int | None = None
    progress: bool | None = None

    def __post_init__(self):
        if self.how not in HOWS:
            raise InputError(f"how must be one of {', '.join(HOWS)}, not {self.how!r}")
        if self.metric not in METRICS:
            raise InputError(f"metric must be one of {', '.join(METRICS)}, not {self.metric!r}")
        if self.keys is not None:
            object.__setattr__(self, "keys", dict(self.keys))

    def ingest(self, paths) -> Ingested:
        """:func:`~scalinglaws.io.ingestion.ingest` with these options."""
        return ingest(paths, runs=self.runs, regex=self.regex, keys=self.keys or None,
                      skip_bad_lines=self.skip_bad_lines, diverge_factor=self.diverge_factor, params=self.params,
                      strict=self.strict, tracking_uri=self.tracking_uri, n_jobs=self.n_jobs,
                      progress=self.progress)


@dataclass(frozen=True)
class ReadOptions:
    """What :func:`read_input` reads: ``kind`` (``points`` or ``curves``), ``columns`` (canonical name → the file's
    column, for names the aliases miss), ``require`` (inputs a points table must have or derive: a law's inputs)
    and ``logs`` (:class:`LogOptions`, used when the input is training logs)."""

    kind: str = "points"
    columns: Mapping[str, str] | None = None
    require: tuple[str, ...] = ("N", "D")
    logs: LogOptions = field(default_factory=LogOptions)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        object.__setattr__(self, "require", tuple(self.require))


@dataclass(frozen=True)
class Input:
    """What :func:`read_input` read: the ``table`` (points or curves), the ``ingested`` logs when it came from logs,
    and ``notes``: every column renamed, row excluded, line skipped or choice made, in words."""

    path: str
    kind: str
    table: pd.DataFrame
    ingested: Ingested | None = None
    notes: tuple[str, ...] = ()

    @property
    def from_logs(self) -> bool:
        return self.ingested is not None

    def summary(self) -> str:
        """What was read, as the command line prints it."""
        lines = []
        if self.ingested is not None:
            lines.append(self.ingested.summary())
        lines.append(f"Read {self.path}: {len(self.table)} rows" + "".join(f"; {n}" for n in self.notes))
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The table read, and the ingest's tables when it came from logs."""
        out = {self.kind: self.table}
        if self.ingested is not None:
            out.update({k: v for k, v in self.ingested.tables().items() if k != "curves"})
        return out


def is_log(path) -> bool:
    """Whether ``path`` is read as training logs (a folder, a log format's file, or a table of logged steps)
    rather than as a table of runs; see the module docstring."""
    file = Path(path)
    if file.is_dir():
        return True
    if not file.exists():
        return False
    kind = detect_file(file)
    if kind != "table":
        return kind is not None
    frame = read_table(file, header_only=True)[0]  # the columns decide; the file is read once, later
    names = {normalize(c) for c in frame.columns}
    per_run = any(a in names for a in POINTS_ALIASES["N"])
    sized = any(a in names for a in POINTS_ALIASES["D"] + POINTS_ALIASES["C"])
    return step_key(frame.columns) is not None and not (per_run and sized)


def read_input(path, options: ReadOptions | None = None, **changes) -> Input:
    """Read ``path`` (a file or a folder) as ``options`` say; keyword ``changes`` override fields of ``options``.

    >>> read_input("data/chinchilla_epoch.csv").notes  # doctest: +SKIP
    ("columns exclude <- excluded_by_epoch", "5 rows excluded by column 'excluded_by_epoch'")
    """
    options = replace(options or ReadOptions(), **changes)
    path = str(path)
    if not path.strip():  # Path("") is the current folder: an empty argument would read it as logs
        raise InputError("the path is empty", hint="give a file or folder name")
    if options.kind == "curves" and not Path(path).is_dir() and detect_file(Path(path)) == "table":
        table = read_curves(path, columns=options.columns)  # a table of steps as it is (extra columns kept)
        return Input(path, "curves", table, notes=_table_notes(table))
    if options.kind == "points" and not is_log(path):
        table = read_points(path, columns=options.columns, require=options.require)
        return Input(path, "points", table, notes=_table_notes(table))
    ingested = options.logs.ingest([path])
    if options.kind == "curves":  # the steps, with each run's N (and C) joined on
        table, notes = ingested.table(), []
        for column in ("loss", "eval_loss"):
            low = table[column].to_numpy(dtype=float) <= 0
            if low.any():  # a loss of 0 or below (RL, Dice) is no cross-entropy: left out of the fit, and said
                table.loc[low, column] = float("nan")
                notes.append(f"{int(low.sum())} rows with {column} <= 0 left out (not a cross-entropy in nats)")
        return Input(path, "curves", table, ingested, tuple(notes))
    logs = options.logs
    points = ingested.points(how=logs.how, metric=logs.metric, ema=logs.ema, ema_unit=logs.ema_unit,
                             require=options.require)
    unusable = points["exclude"] & ~(points["loss"] > 0) | points["exclude"] & ~(points["D"] > 0)
    dropped = points.loc[unusable]
    points = points.loc[~unusable]
    if points.empty:
        raise InputError("no run gives a point a fit can use", path=path,
                         hint="; ".join(f"{r.run}: {r.reason}" for r in dropped.itertuples()))
    table = points_table(points, columns=options.columns, require=options.require)
    table.attrs["source"] = path
    rule = {"auto": "evaluation loss when logged, else training loss", "eval": "evaluation loss",
            "train": "training loss"}[logs.metric]
    notes = [f"one point per run: the {logs.how} {rule}"]
    if len(dropped):
        notes.append(f"{len(dropped)} runs without a usable point ({'; '.join(f'{r.run}: {r.reason}' for r in dropped.itertuples())})")
    noted = table.loc[table["note"].astype(str) != ""] if "note" in table else table.iloc[:0]
    if len(noted):
        notes.append("; ".join(f"{r.run}: {r.note}" for r in noted.itertuples()))
    excluded = table.loc[table["exclude"]] if "exclude" in table else table.iloc[:0]
    if len(excluded):
        notes.append(f"{len(excluded)} runs excluded ({'; '.join(f'{r.run}: {r.reason}' for r in excluded.itertuples())})")
    return Input(path, "points", table, ingested, tuple(notes))


def _table_notes(table: pd.DataFrame) -> tuple[str, ...]:
    renamed = ", ".join(f"{k} <- {v}" for k, v in table.attrs.get("columns", {}).items() if k != v)
    excluded = int(table["exclude"].sum()) if "exclude" in table else 0
    blank = table.attrs.get("blank_rows", 0)
    notes = [f"columns {renamed}" if renamed else "", *table.attrs.get("notes", ()),
             f"{excluded} rows excluded by column '{table.attrs['columns']['exclude']}'" if excluded else "",
             f"{blank} blank lines ignored" if blank else ""]
    return tuple(n for n in notes if n)
