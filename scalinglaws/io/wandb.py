"""Weights & Biases exports: a line-plot panel's CSV, and run history as JSON Lines.

**Panel CSV** (the panel menu's *Export → CSV*, files named ``wandb_export_<time>.csv``): the first column is
the panel's x axis (``Step``, or a custom one such as ``trainer/global_step``), then, for every run, the
columns ``"<run> - <metric>"``, ``"<run> - <metric>__MIN"`` and ``"<run> - <metric>__MAX"``; cells are empty
where a run logged nothing at that step. The ``__MIN``/``__MAX`` envelopes (min and max over a group of runs,
or equal to the value for a single run) are left out. When runs are *grouped* in the panel, the value column
is the group's mean. One export holds one metric, so a run is usually spread over several files (one per
panel); they are merged by run name. An export whose x axis is time, not steps, is refused.

**History JSON Lines** (``wandb-history.jsonl`` of older clients, or ``run.scan_history()`` written one
record per line): every record has W&B's ``_step``, ``_runtime`` and ``_timestamp`` and the logged keys.
The step is taken from a trainer's own step key when the records carry one (``trainer/global_step``,
``train/global_step``, ``global_step``, ``step``), else from ``_step``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .formats import LogFormat, register_format
from .logs import (LogTable, ParseContext, check_last_line, numeric_cells, read_small_csv, read_text,
                   step_cells, wide_from_records)
from ..schema import normalize
from .names import step_key

CSV_FORMAT = "wandb-csv"
HISTORY_FORMAT = "wandb-history"
_COLUMN = re.compile(r"^(?P<run>.+) - (?P<metric>.+?)(?P<envelope>__MIN|__MAX)?$")
_W_AND_B_KEYS = ("_step", "_runtime", "_timestamp")


def sniff_csv(probe) -> bool:
    if probe.path.suffix.lower() != ".csv":
        return False
    header = probe.head.split(b"\n", 1)[0].decode("utf-8", "replace")
    names = [c.strip().strip('"') for c in header.split('","')] if header.startswith('"') else header.split(",")
    grouped = [n for n in names[1:] if " - " in n]
    return bool(grouped) and len(grouped) == len(names) - 1 and any(n.endswith(("__MIN", "__MAX")) for n in grouped)


def sniff_history(probe) -> bool:
    path, head = probe.path, probe.head
    if path.suffix.lower() not in (".jsonl", ".ndjson", ".json") and "wandb-history" not in path.name:
        return False
    first = head.split(b"\n", 1)[0]
    try:
        record = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "wandb-history" in path.name
    return isinstance(record, dict) and any(k in record for k in _W_AND_B_KEYS)


_STEPS = ("step", "global_step", "trainer_global_step", "train_global_step", "_step", "iter", "iteration",
          "tokens", "train_tokens")


def parse_csv(path: Path, ctx: ParseContext) -> list[LogTable]:
    cells, lines = read_small_csv(path, ctx)
    x = cells.columns[0]
    by_run: dict[str, dict[str, str]] = {}
    for column in cells.columns[1:]:
        m = _COLUMN.match(str(column))
        if m is None:
            raise InputError(f"column {column!r} is not '<run> - <metric>'", path=path, column=str(column),
                             hint="give the CSV exactly as W&B exported it")
        if not m["envelope"]:
            by_run.setdefault(m["run"], {})[m["metric"]] = column
    # an x axis that is not the step (epoch, time): each run's own step column gives the steps, if it is there
    own_steps = {run: step_key(metrics) for run, metrics in by_run.items()}
    if normalize(x) not in _STEPS and not (by_run and all(own_steps.values())):
        raise InputError(f"the panel's x axis is {x!r}, not the step", path=path, column=str(x),
                         hint="export the panel with 'Step' (or your step metric) as its x axis, or add the "
                              "runs' _step to the panel")
    per_run = normalize(x) not in _STEPS
    steps = None if per_run else step_cells(cells[x], lines, path, column=str(x))
    envelopes = {c for c in cells.columns if str(c).endswith(("__MIN", "__MAX"))}
    values = numeric_cells(cells, lines, path, skip=({x} if not per_run else set()) | envelopes)
    frames, where = [], []
    for run, metrics in by_run.items():
        if per_run:
            column = metrics.pop(own_steps[run])
            logged = cells[column].astype("string").str.strip().fillna("") != ""
            run_steps = step_cells(cells.loc[logged, column], lines[logged.to_numpy()], path, column=str(column))
            part = pd.DataFrame({"run": run, "step": run_steps, str(x): values[x][logged.to_numpy()] if x in values
                                 else np.nan, **{m: values[c][logged.to_numpy()] for m, c in metrics.items()
                                                 if c in values}})
            keep = logged.to_numpy()
        else:
            part = pd.DataFrame({"run": run, "step": steps, **{m: values[c] for m, c in metrics.items() if c in values}})
            keep = np.ones(len(part), dtype=bool)
        present = part.drop(columns=["run", "step", str(x)], errors="ignore").notna().any(axis=1).to_numpy()
        frames.append(part.loc[present])
        where.append(lines[keep][present])
    notes = []
    if normalize(x) in ("tokens", "train_tokens"):
        notes.append(f"x axis {x!r} is a token count: it is the step column here")
    if per_run:
        notes.append(f"x axis {x!r}: the steps are each run's {', '.join(sorted(set(own_steps.values())))} column")
        ctx.notes.append(f"{path.name}: the panel's x axis is {x!r}; steps read from each run's "
                         f"{', '.join(sorted(set(own_steps.values())))} column")
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"run": [], "step": []})
    return [LogTable(frame=frame, path=str(path), format=CSV_FORMAT, lines=np.concatenate(where) if where else None,
                     notes=notes)]


#: Files of a W&B run folder that are not training curves, and why.
IGNORED = {"wandb-events.jsonl": "W&B system metrics (wandb-events.jsonl: GPU, CPU, memory), not training curves",
           "wandb-summary.json": "W&B run summaries (wandb-summary.json: each metric's last value, not a curve)",
           "wandb-metadata.json": "W&B run metadata files (wandb-metadata.json)"}


def ignore(path: Path) -> str | None:
    return IGNORED.get(path.name)


def run_name(path: Path, ctx: ParseContext) -> str:
    """``<name>-history.jsonl`` → ``<name>``; ``wandb-history.jsonl`` → its run folder's name."""
    stem = re.sub(r"[-_.]?(wandb[-_])?history$", "", path.stem)
    if stem and stem != "wandb":
        return stem
    folder = path.parent.parent if path.parent.name == "files" else path.parent
    return ctx.run_name(folder)


def parse_history(path: Path, ctx: ParseContext) -> list[LogTable]:
    text = read_text(path)
    if not text.strip():
        raise InputError("file is empty", path=path, hint="the run logged nothing yet")
    raw = text.split("\n")
    cut = check_last_line(path, text[-200:].encode(), len(raw), ctx, complete=_is_json)
    records, lines = [], []
    for number, line in enumerate(raw[:-1] if cut else raw, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            ctx.bad(InputError(f"not valid JSON ({err.msg} at character {err.colno})", path=path, line=number,
                               hint="each line must be one JSON object"), "malformed lines")
            continue
        if not isinstance(record, dict):
            ctx.bad(InputError("line is not a JSON object", path=path, line=number,
                               hint="each line must be one JSON object"), "malformed lines")
            continue
        records.append(record)
        lines.append(number)
    if not records:
        raise InputError("no records", path=path, hint="the run logged nothing yet")
    keys = {k for r in records for k in r}
    trainer_step = step_key(k for k in keys if k != "_step")
    key = trainer_step if trainer_step is not None else "_step"
    has = [isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool) for r in records]
    if key != "_step" and sum(has) < len(records):
        missing = len(records) - sum(has)
        ctx.skipped[(str(path), f"records without {key!r}")] += missing
    if not any(has):
        raise InputError("the records have no step ('_step')", path=path, hint="give W&B's run history as it is")
    kept = [r for r, h in zip(records, has) if h]
    where = [n for n, h in zip(lines, has) if h]
    bad = [i for i, r in enumerate(kept) if not (r[key] >= 0 and float(r[key]).is_integer())]
    if bad:
        raise InputError(f"{kept[bad[0]][key]!r} is not a step number", path=path, line=where[bad[0]],
                         column=key, hint="steps are whole numbers >= 0")
    for r in kept:
        r[key] = int(r[key])
    run = run_name(path, ctx)
    frame, _ = wide_from_records(kept, run, key)
    frame = frame.drop(columns=[c for c in _W_AND_B_KEYS if c in frame.columns])
    return [LogTable(frame=frame, path=str(path), format=HISTORY_FORMAT, lines=np.asarray(where), named_by_path=True,
                     folder=str(path.parent))]


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except json.JSONDecodeError:
        return False


register_format(LogFormat(CSV_FORMAT, "W&B panel exports (CSV)", parse=parse_csv, sniff=sniff_csv, priority=40,
                          ignore=ignore))
register_format(LogFormat(HISTORY_FORMAT, "W&B run histories (JSON Lines)", parse=parse_history, sniff=sniff_history,
                          priority=41))
