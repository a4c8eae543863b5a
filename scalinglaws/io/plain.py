"""Plain tables of logged steps: CSV, TSV, JSON Lines, JSON or Parquet with a step column.

One row per logged step: a step column (``step``, ``global_step``, ``iteration``, ...), optionally a run
column (``run``, ``run_name``, ``name``, ...; else the file's name is the run), and metric columns whose
roles are chosen by :mod:`scalinglaws.io.names` (``loss``, ``eval_loss``, ``lr``, ``tokens`` ...). Text
columns (notes, tags) are not metrics and are left out. Delimited files are read by pandas straight from disk
(this is the fast path for very large logs); only an empty cell means "not logged", a cell reading ``nan`` is a
logged NaN.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .formats import LogFormat, register_format
from .logs import LogTable, ParseContext, tail_bytes, text_floats, writeable
from ..schema import normalize
from .names import step_key
from .runs import _RUN_COLUMNS, FIELDS
from .tables import read_table

FORMAT = "table"
_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".parquet", ".pq")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


_TEXT_NAMES = (".log", ".txt", ".out", ".dat", "")


def is_delimited_table(head: bytes) -> bool:
    """Whether text (a file's beginning) is a CSV or TSV table of steps: a header with a step column and at least
    two rows with the header's number of fields, every cell of them a number or empty (a console log whose
    lines happen to hold commas is not)."""
    if b"\x00" in head[:4096]:
        return False
    lines = [line for line in head.decode("utf-8-sig", "replace").splitlines()[:50] if line.strip()]
    if len(lines) < 3:
        return False
    if not head.endswith(b"\n"):
        lines = lines[:-1]  # the head may cut the last line
    for sep in ("\t", ","):
        rows = list(csv.reader(lines, delimiter=sep))
        header, body = rows[0], rows[1:]
        if len(header) < 2 or step_key(header) is None or len(body) < 2:
            continue
        if all(len(r) == len(header) for r in body) and all(
                _numberish(cell) for r in body for j, cell in enumerate(r) if normalize(header[j]) not in _RUN_COLUMNS):
            return True
    return False


def _numberish(cell: str) -> bool:
    cell = cell.strip()
    if cell.lower() in ("", "nan", "inf", "-inf", "na", "null", "none"):
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


def sniff(probe) -> bool:
    name = probe.path.name.lower()
    for ext in _COMPRESSED:
        if name.endswith(ext):
            name = name[: -len(ext)]
    if probe.path.suffix.lower() in _TEXT_NAMES and not name.endswith(_SUFFIXES):
        return is_delimited_table(probe.head)  # a CSV or TSV saved as .log/.txt: told by its content
    if not name.endswith(_SUFFIXES):
        return False
    # in a folder, a JSON object that is not a trainer state is a config or a result, not a log
    return probe.named or not name.endswith(".json") or probe.head.lstrip().startswith(b"[")


def _cut_last_row(path: Path, frame: pd.DataFrame, source, ctx: ParseContext) -> pd.DataFrame:
    """A delimited file whose last line lacks its newline and some fields was cut off while being written."""
    if frame.empty:
        return frame
    tail = tail_bytes(path, 4096)
    if tail.endswith((b"\n", b"\n\x00")) or b"\x00" in tail:  # complete, or UTF-16 (not checked)
        return frame
    last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    if path.suffix.lower() in (".tsv", ".tab"):
        sep = "\t"
    elif path.suffix.lower() == ".csv":
        sep = ","
    elif path.suffix.lower() in _TEXT_NAMES and frame.shape[1] > 1:
        sep = "\t" if "\t" in tail else ","
    else:
        return frame
    fields = next(csv.reader([last], delimiter=sep), [])
    if len(fields) >= frame.shape[1]:
        return frame
    ctx.bad(InputError(f"the last line is incomplete ({len(fields)} of {frame.shape[1]} fields; file truncated, "
                       "or still being written?)", line=source.at(len(frame) - 1).get("line"), path=path,
                       hint="remove the incomplete line, or wait for the run to flush"), "incomplete last line")
    return frame.iloc[:-1]


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    frame, source = read_table(path, literal_nan=True)
    frame = _cut_last_row(path, frame, source, ctx)
    step = step_key(frame.columns)
    if step is None:
        raise InputError("has no step column, so it is not a log of steps", path=path,
                         hint="one row per run is a points table: fit it with 'scalinglaws fit FILE'; a log needs a "
                              "column step (or global_step, iteration)")
    where = LogTable(frame=frame, path=str(path), format=FORMAT, lines=source.lines, offset=source.offset)
    steps = _steps(frame[step], where, str(step))
    by_norm = {normalize(c): c for c in frame.columns}
    run_col = next((by_norm[n] for n in _RUN_COLUMNS if n in by_norm), None)
    if run_col is None:
        runs = pd.Series(path.name.split(".")[0], index=frame.index, dtype="string")
    else:
        runs = frame[run_col]
        if not pd.api.types.is_string_dtype(runs):
            runs = runs.astype("string")
        missing = runs.isna()  # empty cells are missing values
        if missing.any():
            i = int(missing.to_numpy().argmax())
            raise InputError("run name is missing", column=str(run_col), hint="name the run of every row",
                             **where.line_of(i))
    metrics = {}
    for column in frame.columns:
        if column in (step, run_col):
            continue
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            continue
        if values.dtype == np.float64:
            metrics[column] = values.to_numpy()  # no copy
            continue
        if values.dtype == np.int64:
            metrics[column] = _floats_in_place(values.to_numpy())
            continue
        if pd.api.types.is_numeric_dtype(values):
            metrics[column] = values.to_numpy(dtype=float, na_value=np.nan)
            continue
        numbers, bad = text_floats(values)
        if bad.size and np.isnan(numbers).all():
            continue  # a text column (notes, tags, schedules): no cell is a number
        if bad.size:
            i = int(bad[0])
            raise InputError(f"{values.iloc[i]!r} is not a number", column=str(column),
                             hint="fix the value, or remove the row", **where.line_of(i))
        metrics[column] = numbers
    meta = _run_constants(runs, metrics)
    out = pd.DataFrame({"run": runs.reset_index(drop=True), "step": steps, **metrics}, copy=False)
    return [LogTable(frame=out, path=str(path), format=FORMAT, lines=source.lines, offset=source.offset,
                     named_by_path=run_col is None,
                     folder=str(path.parent), meta=meta)]


def _floats_in_place(values: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """An int64 column of the parsed table as float64, written over its own memory, chunk by chunk (numpy
    would copy the whole column to cast it onto itself at once). The parsed table is this module's and is
    dropped after parsing, so nothing else sees its memory; a column that cannot be written gets a copy."""
    view = writeable(values)
    if not view.flags.c_contiguous:
        return values.astype(float)
    out = view.view(np.float64)
    for start in range(0, view.size, chunk):
        out[start : start + chunk] = view[start : start + chunk]
    return out


def _run_constants(runs: pd.Series, metrics: dict) -> dict[str, dict]:
    """Metadata columns (N, batch_size, seq_len, ...; see :mod:`scalinglaws.io.runs`) that hold one value per
    run are the runs' metadata, not metrics: they are taken out of ``metrics``."""
    fields = {alias for names in FIELDS.values() for alias in names}
    meta: dict[str, dict] = {}
    for column in [c for c in metrics if normalize(c) in fields]:
        per_run = pd.Series(metrics[column]).groupby(runs.reset_index(drop=True), sort=False).agg(["min", "max"])
        if (per_run["min"] == per_run["max"]).all():
            for run, value in per_run["min"].items():
                meta.setdefault(str(run), {})[str(column)] = float(value)
            del metrics[column]
    return meta


def _steps(column: pd.Series, where: LogTable, name: str) -> np.ndarray:
    if pd.api.types.is_integer_dtype(column):
        values = column.to_numpy()
        bad = np.flatnonzero(values < 0) if values.size and values.min() < 0 else np.zeros(0, dtype=np.intp)
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~(values >= 0) | (values != np.round(values)))
    if bad.size:
        i = int(bad[0])
        cell = column.iloc[i]
        shown = f"{cell:g}" if isinstance(cell, (int, float, np.number)) else repr(cell)
        raise InputError(f"{shown} is not a step number", column=name,
                         hint="steps are whole numbers >= 0; fix the value, or remove the row", **where.line_of(i))
    return values.astype(np.int64, copy=False)


register_format(LogFormat(FORMAT, "tables of steps (CSV, TSV, JSON Lines, JSON, Parquet)", parse=parse, sniff=sniff,
                          priority=60))
