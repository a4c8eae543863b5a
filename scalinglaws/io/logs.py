"""What every log parser returns, and the helpers they share.

A parser turns one log (a file, or a run folder) into a :class:`LogTable`: a wide table with a ``run`` and a
``step`` column and one float column per logged metric, in the order the tool wrote them (a frame, or its
:class:`Columns` where building a frame per log would cost more than reading the log). Conventions:

* ``NaN`` means *not logged at this step* (sparse logs are the rule: evaluation every k steps, learning rate on
  rows of its own);
* ``+inf`` means *a value was logged but was not finite* (``nan``, ``inf``): the run is flagged as diverged;
* ``meta`` holds what the log itself says about a run (parameters, batch size, sequence length, ...).

Lines that cannot be read (truncated last line, malformed record) raise :class:`~scalinglaws.exceptions.InputError`
naming the file and line, unless the user asked to skip them, in which case :class:`ParseContext` counts them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..schema import Source
from .limits import refuse_special
from .tables import decode_text

__all__ = ["LogTable", "Columns", "ParseContext", "SkippedLog", "logged_floats", "check_last_line", "read_text"]

#: How a logged non-finite value (NaN, inf) is kept apart from "not logged" (NaN) until the checks run.
NONFINITE = np.inf


class SkippedLog(InputError):
    """A log that holds nothing to read (a trainer state with only its final summary, a run with no loss):
    named by the user it is an error; met in a folder it is skipped under ``reason``."""

    def __init__(self, problem: str, *, reason: str, **where):
        super().__init__(problem, **where)
        self.reason = reason

    def __reduce__(self):
        return (_rebuild_skipped, (self.problem, self.reason, dict(path=self.path, line=self.line, row=self.row,
                                                                  column=self.column, hint=self.hint)))


def _rebuild_skipped(problem, reason, where):
    return SkippedLog(problem, reason=reason, **where)


class Columns:
    """A log's columns by name, each of ``rows`` values (``run``, ``step``, then the metrics as float arrays): the
    wide table without a frame, for logs so small that a frame each costs more than reading them (a folder of
    thousands of trainer states); the ingest builds the frame of the roles it keeps, once.

    >>> table = Columns({"run": ["a", "a"], "step": [10, 20], "loss": np.array([2.5, 2.25])}, rows=2)
    >>> table.names, len(table), "loss" in table
    (['run', 'step', 'loss'], 2, True)
    >>> table.to_frame()["loss"].tolist()
    [2.5, 2.25]
    """

    __slots__ = ("data", "rows")

    def __init__(self, data: dict, rows: int):
        self.data, self.rows = data, rows

    @property
    def names(self) -> list:
        return list(self.data)

    def __getitem__(self, name):
        return self.data[name]

    def __contains__(self, name) -> bool:
        return name in self.data

    def __len__(self) -> int:
        return self.rows

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data)


class Rows:
    """Rows ``lo:hi`` of ``block``, a frame holding the settled rows of several logs (a worker's chunk of logs,
    sent between processes as one frame instead of one a log): a log's settled frame until it is needed as one
    (:func:`frame_of`); consecutive rows of one block are joined without being cut apart."""

    __slots__ = ("block", "lo", "hi")

    def __init__(self, block: pd.DataFrame, lo: int, hi: int):
        self.block, self.lo, self.hi = block, lo, hi

    def __len__(self) -> int:
        return self.hi - self.lo

    def frame(self) -> pd.DataFrame:
        return self.block.iloc[self.lo : self.hi].reset_index(drop=True)


def frame_of(rows: "pd.DataFrame | Rows") -> pd.DataFrame:
    """A settled frame, from :class:`Rows` or as it is."""
    return rows.frame() if isinstance(rows, Rows) else rows


def concat_rows(pieces: list) -> pd.DataFrame:
    """``pandas.concat(pieces, ignore_index=True)`` of frames and :class:`Rows`, neighbouring rows of one block
    taken in one piece."""
    joined: list = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if isinstance(piece, Rows) and isinstance(last, Rows) and last.block is piece.block and last.hi == piece.lo:
            joined[-1] = Rows(piece.block, last.lo, piece.hi)
        else:
            joined.append(piece)
    frames = [p.block.iloc[p.lo : p.hi] if isinstance(p, Rows) else p for p in joined]
    return frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(frames, ignore_index=True)


@dataclass
class LogTable:
    """One parsed log: ``frame`` has ``run``, ``step`` and metric columns (see the module docstring), as a frame
    or as :class:`Columns`."""

    frame: "pd.DataFrame | Columns"
    path: str
    format: str
    keys: dict[str, str | None] = field(default_factory=dict)  # role -> metric column, when the format knows
    #                                                    (None: the format knows the log has none for the role)
    meta: dict[str, dict] = field(default_factory=dict)  # run -> {"N": ..., "batch_size": ..., ...}
    lines: np.ndarray | None = None  # file line of each row, for messages (None: see offset)
    offset: int | None = None  # row i is on line i + offset (one line per row after a header)
    notes: list[str] = field(default_factory=list)
    folder: str | None = None  # where to look for config files of these runs (default: the file's folder)
    named_by_path: bool = False  # its run was named after its file or folder (not by the log): a name another
    #                              log's path also gives is told apart by the paths (see ingestion)
    lineage: tuple | None = None  # fingerprints of the log's entries in order (a state that is a prefix of
    #                               another's is superseded by it; see ingestion)

    def __post_init__(self):
        # a metric logged as run or step, put beside the table's own columns by a parser, is renamed: two
        # columns of one name are not one column (every parser's frame passes here)
        if isinstance(self.frame, pd.DataFrame):
            names = self.frame.columns.tolist()
            if names.count("run") > 1 or names.count("step") > 1:
                own = {"run": False, "step": False}
                renamed = []
                for name in names:
                    renamed.append(metric_name(name) if own.get(name) else name)
                    if name in own:
                        own[name] = True
                self.frame = self.frame.set_axis(renamed, axis=1)

    def line_of(self, i: int) -> dict:
        """Keyword arguments locating row ``i`` for :class:`InputError` (see :meth:`Source.at`)."""
        return Source(self.path, self.lines, self.offset).at(i)


@dataclass
class ParseContext:
    """Settings shared by the parsers of one ingest, and the count of what they skipped."""

    root: Path | None = None
    regex: re.Pattern | None = None
    skip_bad_lines: bool = False
    skipped: Counter = field(default_factory=Counter)  # (path, reason) -> count
    details: dict = field(default_factory=dict)  # (path, reason) -> the one-line message of what was skipped
    notes: list = field(default_factory=list)  # what was merged, renamed, guessed or defaulted, in words
    flags: dict = field(default_factory=dict)  # run -> [flag, ...] found while reading
    tracking_uri: str | None = None  # the MLflow server named with tracking_uri= / --tracking-uri
    root_resolved: tuple | None = None  # (root, root.resolve()) once known (the logs of one folder share it)

    def bad(self, error: InputError, reason: str, count: int = 1) -> None:
        """Raise ``error`` (telling how to skip instead), or count ``count`` skipped lines under ``reason``."""
        if not self.skip_bad_lines:
            error.hint = (error.hint + "; " if error.hint else "") + \
                "or skip such lines with --skip-bad-lines (skip_bad_lines=True); they are counted"
            raise type(error)(error.problem, path=error.path, line=error.line, row=error.row,
                              column=error.column, hint=error.hint) from None
        self.skipped[(error.path, reason)] += count

    def skip(self, path, reason: str, detail: str = "", count: int = 1) -> None:
        """Count ``count`` things of ``path`` left out for ``reason`` (``detail``: the one-line message)."""
        self.skipped[(str(path), reason)] += count
        if detail:
            self.details.setdefault((str(path), reason), detail)

    def flag(self, run: str, text: str) -> None:
        """A flag on a run (shown in the runs table and the summary)."""
        self.flags.setdefault(run, []).append(text)

    def fresh(self, root: Path | None, resolved: Path | None = None) -> "ParseContext":
        """A context with these settings and nothing counted yet (for one log, possibly in another process);
        ``resolved``: ``root.resolve()``, when the caller knows it."""
        return ParseContext(root=root, regex=self.regex, skip_bad_lines=self.skip_bad_lines,
                            tracking_uri=self.tracking_uri,
                            root_resolved=None if resolved is None else (root, resolved))

    def absorb(self, other: "ParseContext") -> None:
        """Add what another context counted and noted."""
        self.skipped.update(other.skipped)
        for key, value in other.details.items():
            self.details.setdefault(key, value)
        self.notes.extend(other.notes)
        for run, flags in other.flags.items():
            self.flags.setdefault(run, []).extend(flags)

    def run_name(self, folder: Path) -> str:
        """A run named after its folder: the path below the ingested root, or the folder's own name."""
        folder = Path(folder)
        real = folder.resolve()
        if self.root is not None:
            if self.root_resolved is None or self.root_resolved[0] != self.root:  # the root may be changed
                self.root_resolved = (self.root, Path(self.root).resolve())
            try:
                rel = real.relative_to(self.root_resolved[1])
                if rel.parts:
                    return rel.as_posix()
            except ValueError:
                pass
        return real.name


def logged_floats(values) -> np.ndarray:
    """Floats of logged values where non-finite ones (NaN, inf) become ``+inf`` and missing ones ``NaN``.

    ``values`` is a sequence of numbers, strings or None (None or "" = not logged).

    >>> logged_floats([1.5, None, "nan", float("inf"), "2e-3", ""]).tolist()
    [1.5, nan, inf, inf, 0.002, nan]
    """
    out = np.empty(len(values))
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            out[i] = np.nan
            continue
        x = float(v)
        out[i] = x if np.isfinite(x) else NONFINITE
    return out


def text_floats(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column of text cells → floats with the conventions of :func:`logged_floats`, and the positions of
    cells that are not numbers (empty, ``NA``, ``null`` and ``None`` count as not logged)."""
    text = series.astype("string").str.strip()
    missing = (text.isna() | text.str.lower().isin(["", "na", "n/a", "null", "none"])).to_numpy(dtype=bool)
    values = pd.to_numeric(text.where(~missing).str.replace(",", "", regex=False), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    nonfinite = text.str.lower().isin(["nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity"]).to_numpy(
        dtype=bool, na_value=False)
    bad = np.flatnonzero(np.isnan(values) & ~missing & ~nonfinite)
    values[nonfinite | np.isinf(values)] = NONFINITE
    return values, bad


def read_text(path: Path) -> str:
    """A text file as a string: UTF-8 (with or without BOM) or UTF-16 with a BOM; else an InputError."""
    refuse_special(path)  # a named pipe or a device would block or never end
    return decode_text(path, path.read_bytes(), what="log",
                       hint="give a text log, or a format scalinglaws reads (see 'scalinglaws ingest --help')")


def check_last_line(path: Path, text_tail: bytes, n_lines: int, ctx: ParseContext, complete) -> bool:
    """Whether the file's last line is cut off: it lacks a final newline and ``complete(line)`` is False.

    Raises (or counts, when skipping) an InputError naming the line. Returns True when the line must be dropped.
    """
    if not text_tail or text_tail.endswith(b"\n"):
        return False
    last = text_tail.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    if complete(last):
        return False
    ctx.bad(InputError(f"the last line is incomplete: {last[:60]!r} (file truncated, or still being written?)",
                       path=path, line=n_lines, hint="remove the incomplete line, or wait for the run to flush"),
            "incomplete last line")
    return True


def tail_bytes(path: Path, size: int = 65536) -> bytes:
    """The last ``size`` bytes of a file (all of it when shorter)."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        end = handle.tell()
        handle.seek(max(0, end - size))
        return handle.read()


def wide_from_records(records: list[dict], run: str, step_key: str, dropped: Counter | None = None
                      ) -> tuple[pd.DataFrame, list[str]]:
    """Records (one dict per logged row, each with a step) → a wide frame with ``run``, ``step`` and metrics.

    A key whose values are not all numbers (text, lists, media) is not a metric: it is left out and its name
    returned so the caller can mention it. With ``dropped``, a key with some numbers is a metric whose other
    values (text such as ``"2.31"``) are not read, and counted in ``dropped[key]``.
    """
    runs, steps, metrics, other = _wide(records, run, step_key, dropped)
    return pd.DataFrame({"run": runs, "step": steps, **metrics}), other


def wide_columns(records: list[dict], run: str, step_key: str, dropped: Counter | None = None
                 ) -> tuple["Columns | pd.DataFrame", list[str]]:
    """:func:`wide_from_records` as :class:`Columns` (no frame built; a frame when there are no rows)."""
    runs, steps, metrics, other = _wide(records, run, step_key, dropped)
    if not steps:
        return pd.DataFrame({"run": runs, "step": steps, **metrics}), other
    return Columns({"run": runs, "step": steps, **metrics}, rows=len(steps)), other


def _wide(records: list[dict], run: str, step_key: str, dropped: Counter | None):
    """The run names (a list, or the name when there are no rows: pandas makes a scalar's column 3x slower),
    steps, metric arrays (named by :func:`metric_name`) and the names of keys that are not metrics, of
    :func:`wide_from_records`."""
    n = len(records)
    # every key with a value, in the order of their first value (where no value is None, the order of the keys'
    # first appearance, found without a loop in Python); then each key's column, by comprehension
    if _holds_none(records):
        keys = dict.fromkeys(key for record in records for key, value in record.items()
                             if value is not None and key != step_key)
    else:
        keys = dict.fromkeys(chain.from_iterable(records))
        keys.pop(step_key, None)
    numeric: dict[str, list] = {}
    other: Counter = Counter()  # key -> values that are not numbers (text, lists, bools, media)
    for key in keys:
        values = [record.get(key) for record in records]
        if set(map(type, values)) <= _NUMBER_TYPES:
            numeric[key] = values
            continue
        wrong = [v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))) for v in values]
        if not any(wrong):  # numbers of other types (numpy's)
            numeric[key] = values
        elif dropped is not None and not all(w for w, v in zip(wrong, values) if v is not None):
            # a metric with some values that are not numbers: those are not read, and counted
            dropped[key] += sum(wrong)
            numeric[key] = [None if w else v for w, v in zip(wrong, values)]
        else:
            other[key] += sum(wrong)
    steps = [r[step_key] for r in records]
    metrics = {metric_name(key): _number_floats(values) for key, values in numeric.items()}
    return ([run] * n if n else run), steps, metrics, sorted(other)


def _holds_none(records: list[dict]) -> bool:
    """Whether any record holds a value that is None (or a value that cannot be compared with it, such as an
    array: then the caller takes the general path too)."""
    try:
        return any(None in record.values() for record in records)
    except (ValueError, TypeError):
        return True


def metric_name(key):
    """The column of a logged metric: ``run (metric)``, ``step (metric)`` for a metric logged as ``run`` or
    ``step`` (the table's own columns have those names), else its name."""
    return f"{key} (metric)" if key in ("run", "step") else key


_NUMBER_TYPES = {int, float, type(None)}


def _number_floats(values: list) -> np.ndarray:
    """:func:`logged_floats` of a list of ints, floats and None (not logged), without a loop in Python."""
    out = np.array(values, dtype=float)  # None is NaN
    bad = ~np.isfinite(out)
    if bad.any() and np.count_nonzero(bad) != values.count(None):  # a logged NaN or inf (not a None): +inf
        out[bad & np.fromiter((v is not None for v in values), dtype=bool, count=len(values))] = NONFINITE
    return out


def read_small_csv(path: Path, ctx: ParseContext) -> tuple[pd.DataFrame, np.ndarray]:
    """A (small) CSV log as text cells, with the file line of each row; blank lines are dropped.

    Rows with too many fields and a cut-off last line are errors (or counted skips, see :class:`ParseContext`).
    """
    import csv
    import io

    text = read_text(path)
    if not text.strip():
        raise InputError("file is empty", path=path, hint="the run logged nothing yet")
    bad_rows: list[int] = []

    def too_long(fields):  # the python engine calls this for a row with more fields than the header
        bad_rows.append(len(fields))
        return None

    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False,
                            engine="python" if ctx.skip_bad_lines else "c",
                            on_bad_lines=too_long if ctx.skip_bad_lines else "error")
    except pd.errors.ParserError as err:
        m = re.search(r"line (\d+)", str(err))
        found = re.search(r"Expected (\d+) fields.*saw (\d+)", str(err))
        problem = f"expected {found[1]} fields, saw {found[2]}" if found else str(err).strip().splitlines()[-1]
        ctx.bad(InputError(problem, path=path, line=int(m[1]) if m else None,
                           hint="check for stray separators or unquoted commas"), "malformed rows")
        raise AssertionError("unreachable")  # ctx.bad raises unless skipping, and skipping uses on_bad_lines
    if bad_rows:
        ctx.skipped[(str(path), "rows with too many fields")] += len(bad_rows)
    lines = np.arange(len(frame)) + 2
    blank = (frame == "").all(axis=1).to_numpy()
    if not text.endswith("\n") and len(frame) and not blank[-1]:
        last = text.rsplit("\n", 1)[-1]
        fields = next(csv.reader([last]), [])
        if len(fields) < frame.shape[1]:
            ctx.bad(InputError(f"the last line is incomplete ({len(fields)} of {frame.shape[1]} fields; file "
                               "truncated, or still being written?)", path=path, line=int(lines[-1]),
                               hint="remove the incomplete line, or wait for the run to flush"),
                    "incomplete last line")
            blank[-1] = True
    if blank.any():
        frame, lines = frame.loc[~blank].reset_index(drop=True), lines[~blank]
    if frame.empty:
        raise InputError("no data rows", path=path, hint="the file has a header but nothing logged")
    return frame, lines


def numeric_cells(frame: pd.DataFrame, lines: np.ndarray, path: Path, skip: set[str] = frozenset()) -> dict:
    """Every column of text cells as floats (see :func:`text_floats`); a non-numeric cell is an InputError.

    Columns in ``skip`` and columns holding text in every logged cell (names, notes) are left out.
    """
    out = {}
    for column in frame.columns:
        if column in skip:
            continue
        values, bad = text_floats(frame[column])
        if bad.size:
            if np.isnan(values).all():  # a text column (tags, names): no cell is a number
                continue
            i = int(bad[0])
            raise InputError(f"{frame[column].iloc[i]!r} is not a number", path=path, line=int(lines[i]),
                             column=str(column), hint="fix the value, or remove the row")
        out[column] = values
    return out


def step_cells(cells: pd.Series, lines: np.ndarray, path: Path, column: str = "step") -> np.ndarray:
    """A column of step numbers (text cells) as int64; a missing, negative or fractional step is an InputError."""
    values = pd.to_numeric(cells.astype("string").str.strip(), errors="coerce").to_numpy(dtype=float,
                                                                                            na_value=np.nan)
    bad = np.flatnonzero(~(values >= 0) | (values != np.round(values)))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{cells.iloc[i]!r} is not a step number", path=path, line=int(lines[i]), column=column,
                         hint="steps are whole numbers >= 0; fix the value, or remove the row")
    return values.astype(np.int64)


def latest_segment(steps: np.ndarray) -> np.ndarray:
    """Which rows of one run (in the order they were logged) survive restarts: a row is dropped when a later
    row has a smaller step (the run was resumed from an earlier checkpoint and logged those steps again).

    >>> latest_segment(np.array([10, 20, 30, 40, 20, 30, 40, 50])).tolist()
    [True, True, False, False, True, True, True, True]
    """
    steps = np.asarray(steps)
    if steps.size < 2:
        return np.ones(steps.size, dtype=bool)
    later_min = np.minimum.accumulate(steps[::-1])[::-1]
    return steps <= np.append(later_min[1:], np.iinfo(np.int64).max)


def writeable(values: np.ndarray) -> np.ndarray:
    """``values`` as an array that may be written, without a copy where the memory allows it (pandas hands out
    read-only views of a frame's columns; a parser's own frames may be overwritten). A stride-0 view (a column
    of one repeated value) becomes a full array; memory that is read-only at its source, a copy."""
    if values.flags.writeable:
        return values
    if values.strides == (0,):
        return np.full(values.shape, values[0] if values.size else np.nan)
    view = values.view()
    try:
        view.setflags(write=True)
    except ValueError:
        return values.copy()
    return view
