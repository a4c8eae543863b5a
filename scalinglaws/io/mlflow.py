"""MLflow run folders of the file store: ``mlruns/<experiment id>/<run id>/``.

A run folder holds ``meta.yaml`` (run id, name, status, lifecycle stage), ``metrics/<key>`` files with one
line ``<timestamp ms> <value> <step>`` per logged value (keys with ``/`` are sub-folders), ``params/<key>``
files holding one value each, and ``tags/`` (``mlflow.runName``). The run is named by its ``mlflow.runName``
tag (else ``run_name`` in ``meta.yaml``, else its id); its params are read as its configuration (``n_params``,
``batch_size``, ``seq_len``, ... see :mod:`scalinglaws.io.runs`). Runs in the trash (``lifecycle_stage:
deleted``) are skipped and counted. A metric logged again at an earlier step (a resumed run) keeps its latest
values, like every other format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .formats import LogFormat, register_format
from .logs import NONFINITE, LogTable, ParseContext, latest_segment, read_text

FORMAT = "mlflow"


def is_run(folder: Path, names=None) -> bool:
    """An MLflow file-store run folder: ``meta.yaml`` and a ``metrics/`` folder."""
    return (folder / "meta.yaml").is_file() and (folder / "metrics").is_dir()


def _yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(f"not valid YAML ({getattr(err, 'problem', err)})", path=path,
                         line=mark.line + 1 if mark else None, hint="the file may be truncated") from None
    return data if isinstance(data, dict) else {}


def _metric(path: Path, ctx: ParseContext) -> pd.Series:
    """One metric file → values indexed by step, in file order (a re-logged step keeps the later value)."""
    text = read_text(path)
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw = raw[:-1]
    steps, values = [], []
    for number, line in enumerate(raw, start=1):
        parts = line.split()
        if not parts:
            continue
        last = number == len(raw) and not text.endswith("\n")
        try:
            if len(parts) not in (2, 3) or last:  # MLflow ends every line: a last line without it was cut
                raise ValueError
            value = float(parts[1])
            step = int(parts[2]) if len(parts) == 3 else 0
            if step < 0:
                raise ValueError
        except ValueError:
            problem = (f"the last line is incomplete: {line[:60]!r} (file truncated, or still being written?)"
                       if last else f"{line[:60]!r} is not '<timestamp> <value> <step>'")
            ctx.bad(InputError(problem, path=path, line=number, hint="MLflow writes one value per line"),
                    "incomplete last line" if last else "malformed lines")
            continue
        steps.append(step)
        values.append(value if np.isfinite(value) else NONFINITE)
    steps = np.asarray(steps, dtype=np.int64)
    if steps.size > 1 and not steps.any():
        raise InputError(f"all {steps.size} values were logged at step 0", path=path,
                         hint="log them with mlflow.log_metric(key, value, step=step)")
    keep = latest_segment(steps)
    if not keep.all():
        ctx.skipped[(str(path), "values replaced by a restart")] += int((~keep).sum())
    series = pd.Series(np.asarray(values)[keep], index=steps[keep], dtype=float)
    return series[~series.index.duplicated(keep="last")]


def parse(folder: Path, ctx: ParseContext) -> list[LogTable]:
    meta = _yaml(folder / "meta.yaml")
    if meta.get("lifecycle_stage") == "deleted":
        ctx.skipped[(str(folder), "deleted MLflow runs")] += 1
        return []
    tag = folder / "tags" / "mlflow.runName"
    name = read_text(tag).strip() if tag.is_file() else str(meta.get("run_name") or meta.get("run_id") or folder.name)
    metrics_dir = folder / "metrics"
    columns = {p.relative_to(metrics_dir).as_posix(): _metric(p, ctx)
               for p in sorted(metrics_dir.rglob("*")) if p.is_file()}
    columns = {k: v for k, v in columns.items() if len(v)}
    if not columns:
        raise InputError("the run has no logged metrics", path=metrics_dir, hint="the run logged nothing yet")
    wide = pd.DataFrame(columns).sort_index()
    frame = pd.concat([pd.DataFrame({"run": name, "step": wide.index.to_numpy()}), wide.reset_index(drop=True)],
                      axis=1)
    params_dir = folder / "params"
    params = {p.relative_to(params_dir).as_posix(): read_text(p).strip()
              for p in sorted(params_dir.rglob("*")) if p.is_file()} if params_dir.is_dir() else {}
    return [LogTable(frame=frame, path=str(folder), format=FORMAT, meta={name: params}, folder=str(folder))]


register_format(LogFormat(FORMAT, "MLflow run folders (file store)", parse=parse, sniff_folder=is_run, priority=5))
