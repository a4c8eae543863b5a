"""Weights & Biases *runs-table* exports: the project page's table exported as CSV, one row per run.

The columns are W&B's own (``Name``, ``State``, ``Notes``, ``User``, ``Tags``, ``Created``, ``Runtime``,
``Sweep``), then the runs' config values and the last logged value of each metric (the run summary). Every row
is a run of its own, with one point: its summary metrics at its last step (a step column among them: ``_step``,
``iter``, ``trainer/global_step`` ...). Runs of one name (seeds of one configuration) stay apart, named
``<name>@<created>`` and said in the summary; a run whose ``State`` is not ``finished`` is flagged. Config
columns are the runs' metadata (``n_params``, ``batch_size``, ``block_size`` ...; see :mod:`scalinglaws.io.runs`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .formats import LogFormat, register_format
from .logs import LogTable, ParseContext, read_small_csv, text_floats
from .names import step_key

FORMAT = "wandb-runs"
_HEADER = ("Name", "State", "Notes", "User", "Tags", "Created", "Runtime", "Sweep")


def _columns(head: bytes) -> list[str]:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace")
    return next(csv.reader(io.StringIO(first)), [])


def sniff(probe) -> bool:
    if probe.path.suffix.lower() != ".csv":
        return False
    columns = _columns(probe.head)
    first = set(columns[: len(_HEADER) + 2])
    # the UI lets the user pick the columns: State may be left out, and End Time, ID or Updated come in
    return bool(columns) and columns[0] == "Name" and {"Created", "Runtime"} <= first and \
        bool(first & {"State", "End Time", "ID", "Updated", "Sweep", "User"})


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    cells, lines = read_small_csv(path, ctx)
    numbers = {}
    for column in cells.columns:
        if column in _HEADER:
            continue
        values, bad = text_floats(cells[column])
        if not bad.size or not np.isnan(values).all():
            numbers[column] = values
    step = step_key([c for c in numbers if not str(c).startswith("_") or c == "_step"])
    if step is None:
        raise InputError("has no step column among the runs' summary metrics", path=path,
                         hint="add the runs' _step (or your step metric) to the table's columns before exporting")
    steps = numbers.pop(step)
    missing = np.flatnonzero(~np.isfinite(steps))
    if missing.size:
        ctx.skip(path, "runs of a runs-table export without a step", count=int(missing.size))
    names = cells["Name"].astype(str).str.strip()
    repeated = names.duplicated(keep=False).to_numpy()
    created = cells["Created"].astype(str).str.strip() if "Created" in cells else pd.Series("", index=cells.index)
    runs = [f"{n}@{c}" if r else n for n, c, r in zip(names, created, repeated)]
    if len(set(runs)) < len(runs):  # same name and time: number them
        runs = [f"{r}#{i}" if runs.count(r) > 1 else r for i, r in enumerate(runs)]
    if repeated.any():
        ctx.notes.append(f"{path.name}: {int(repeated.sum())} rows share {names[repeated].nunique()} run names "
                         "(seeds?): each row is a run of its own, named <name>@<created>")
    keep = np.isfinite(steps)
    frame = pd.DataFrame({"run": pd.Series(runs, dtype="string")[keep].reset_index(drop=True),
                          "step": steps[keep].astype(np.int64), **{c: v[keep] for c, v in numbers.items()}})
    meta = {}
    states = cells["State"].astype(str).str.strip() if "State" in cells else None
    for i, run in enumerate(runs):
        if not keep[i]:
            continue
        meta[run] = {str(c): float(v[i]) for c, v in numbers.items() if np.isfinite(v[i])}
        if states is not None and states.iloc[i] not in ("finished", ""):
            ctx.flag(run, f"W&B state {states.iloc[i]!r}: not finished")
    return [LogTable(frame=frame, path=str(path), format=FORMAT, lines=lines[keep], meta=meta,
                     notes=["one row per run: each run's summary values at its last step"], folder=str(path.parent))]


register_format(LogFormat(FORMAT, "W&B runs-table exports (CSV, one row per run)", parse=parse, sniff=sniff,
                          priority=39))
