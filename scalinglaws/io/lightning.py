"""PyTorch Lightning ``CSVLogger`` output: ``<save_dir>/<name>/version_<n>/metrics.csv`` (+ ``hparams.yaml``).

``metrics.csv`` is sparse: every ``log_metrics`` call writes its own row (training values, validation values,
and a ``LearningRateMonitor``'s ``lr-<Optimizer>`` land on separate rows of the same ``step``), with an
``epoch`` column. Rows of one step are merged. Metrics logged with ``on_step=True, on_epoch=True`` appear as
``<name>_step`` and ``<name>_epoch``; the per-step column is the curve. Lightning's ``step`` counts from 0
(the step of the first optimizer update is 0); it is kept as written.

The run is named after the logger's ``name`` (the folder above ``version_<n>``, or above ``lightning_logs``
when that is the name), with ``/version_<n>`` added when the name has several versions. ``hparams.yaml``
next to the file is read as the run's configuration (see :mod:`scalinglaws.io.runs`).
"""

from __future__ import annotations

import re
from pathlib import Path

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


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    cells, lines = read_small_csv(path, ctx)
    if "step" not in cells.columns:
        raise InputError("has no 'step' column", path=path, hint="give the metrics.csv that CSVLogger writes")
    steps = step_cells(cells["step"], lines, path)
    metrics = numeric_cells(cells, lines, path, skip={"step", "epoch"})
    run = run_name(path, ctx)
    frame = pd.concat([pd.DataFrame({"run": run, "step": steps}), pd.DataFrame(metrics)], axis=1)
    return [LogTable(frame=frame, path=str(path), format=FORMAT, lines=lines, folder=str(path.parent))]


register_format(LogFormat(FORMAT, "Lightning metrics.csv", parse=parse, sniff=sniff, priority=30))
