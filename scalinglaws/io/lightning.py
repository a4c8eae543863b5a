"""PyTorch Lightning ``CSVLogger`` output: ``<save_dir>/<name>/version_<n>/metrics.csv`` (+ ``hparams.yaml``).

``metrics.csv`` is sparse: every ``log_metrics`` call writes its own row (training values, validation values,
and a ``LearningRateMonitor``'s ``lr-<Optimizer>`` land on separate rows of the same ``step``), with an
``epoch`` column. Rows of one step are merged. Metrics logged with ``on_step=True, on_epoch=True`` appear as
``<name>_step`` and ``<name>_epoch``; the per-step column is the curve. Lightning's ``step`` counts from 0
(the step of the first optimizer update is 0); it is kept as written.

A run resumed from a checkpoint (``trainer.fit(..., ckpt_path=...)``) is written as a new ``version_<n>`` whose
steps start where the checkpoint was: such a version and the versions it continues are read as **one** run (the
later rows replace the steps logged again, like any restart), named after the first, and the summary says so;
the earlier versions are listed in ``skipped``. A version whose steps start late with no earlier version to
continue is flagged. The batch size in ``hparams.yaml``/``config.yaml`` is per device: tokens per step are
batch × ``accumulate_grad_batches`` × ``devices`` × ``num_nodes`` × sequence length, and a run whose device
count is not given is flagged.

The run is named after the logger's ``name`` (the folder above ``version_<n>``, or above ``lightning_logs``
when that is the name), with ``/version_<n>`` added when the name has several versions. ``hparams.yaml``
next to the file is read as the run's configuration (see :mod:`scalinglaws.io.runs`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .formats import LogFormat, register_format
from .logs import LogTable, ParseContext, numeric_cells, read_small_csv, step_cells

FORMAT = "lightning"
_VERSION = re.compile(r"version_\d+$")


def sniff(probe) -> bool:
    path = probe.path
    if path.name != "metrics.csv":
        return False
    header = probe.head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(",")
    return "step" in header and ("epoch" in header or (path.parent / "hparams.yaml").exists())


def run_name(path: Path, ctx: ParseContext) -> str:
    version = path.parent
    if not _VERSION.match(version.name):
        return ctx.run_name(version)
    experiment = version.parent
    base = experiment.parent if experiment.name == "lightning_logs" else experiment
    siblings = [p for p in experiment.iterdir() if p.is_dir() and _VERSION.match(p.name)]
    name = ctx.run_name(base)
    return f"{name}/{version.name}" if len(siblings) > 1 else name


def _steps_of(path: Path) -> np.ndarray | None:
    """The steps of a version's metrics.csv (read plainly, for telling resumes), or None when unreadable."""
    try:
        steps = pd.read_csv(path, usecols=["step"])["step"].to_numpy(dtype=float)
    except Exception:
        return None
    steps = steps[np.isfinite(steps)]
    return steps if steps.size else None


def _resumed(first: float, steps: np.ndarray) -> bool:
    """Whether a version whose steps are ``steps`` started late: its first step is beyond two of its logging
    intervals (a run from scratch logs its first row within one)."""
    gaps = np.diff(np.unique(steps))
    interval = float(np.median(gaps)) if gaps.size else 1.0
    return first > 0 and first >= 2 * interval


def chain(version: Path) -> tuple[list[Path], Path | None]:
    """The versions ``version`` continues (oldest first, itself last), and the later version that continues
    it (or None). Version B continues version A (an earlier ``version_<n>`` of the same logger) when B's steps
    start late (it was resumed from a checkpoint) and A's steps reach B's first step; the latest such A."""
    experiment = version.parent
    versions = sorted((p for p in experiment.iterdir() if p.is_dir() and _VERSION.match(p.name)
                       and (p / "metrics.csv").is_file()), key=lambda p: int(p.name.split("_")[1]))
    steps = {v: _steps_of(v / "metrics.csv") for v in versions}
    parent: dict[Path, Path] = {}
    for i, b in enumerate(versions):
        sb = steps[b]
        if sb is None or not _resumed(float(sb.min()), sb):
            continue
        gaps = np.diff(np.unique(sb))
        interval = float(np.median(gaps)) if gaps.size else 1.0
        for a in reversed(versions[:i]):
            sa = steps[a]
            if sa is not None and sa.min() < sb.min() and sa.max() + 2 * interval >= sb.min():
                parent[b] = a
                break
    child = {a: b for b, a in parent.items()}
    line = [version]
    while line[0] in parent:
        line.insert(0, parent[line[0]])
    return line, child.get(version)


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    line, continued_by = chain(path.parent) if _VERSION.match(path.parent.name) else ([path.parent], None)
    if continued_by is not None:
        ctx.skip(path, "Lightning versions continued by a later version (read as one run with it)",
                 f"{path}: {continued_by.name} resumes it from a checkpoint")
        return []
    frames, where = [], []
    for version in line:
        file = version / "metrics.csv"
        cells, lines = read_small_csv(file, ctx)
        if "step" not in cells.columns:
            raise InputError("has no 'step' column", path=file, hint="give the metrics.csv that CSVLogger writes")
        frames.append((step_cells(cells["step"], lines, file), numeric_cells(cells, lines, file, skip={"step", "epoch"})))
        where.append(lines)
    run = run_name(line[0] / "metrics.csv", ctx)
    frame = pd.concat([pd.concat([pd.DataFrame({"run": run, "step": steps}), pd.DataFrame(metrics)], axis=1)
                       for steps, metrics in frames], ignore_index=True)
    notes = []
    if len(line) > 1:
        names = " -> ".join(v.name for v in line)
        ctx.notes.append(f"{run}: Lightning {names} are one run resumed from checkpoints (each later version's "
                         "steps start where an earlier one had reached): read as one run, later rows replacing "
                         "the steps logged again")
        notes.append(f"versions {names}")
    elif _VERSION.match(path.parent.name) and frames[0][0].size and \
            _resumed(float(frames[0][0].min()), frames[0][0].astype(float)):
        ctx.flag(run, f"its steps start at {int(frames[0][0].min())}: resumed from a checkpoint of a run not found here")
    return [LogTable(frame=frame, path=str(path), format=FORMAT, lines=np.concatenate(where), folder=str(path.parent),
                     named_by_path=True,
                     notes=notes)]


register_format(LogFormat(FORMAT, "Lightning metrics.csv", parse=parse, sniff=sniff, priority=30))
