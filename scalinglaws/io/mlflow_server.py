"""MLflow tracking servers, read through MLflow's own client (``pip install 'scalinglaws[mlflow]'``).

Name an experiment of a server as ``mlflow://host:port/<experiment>`` (``mlflows://`` for https), or give the
server with ``tracking_uri=`` / ``--tracking-uri`` (any URI MLflow's client takes: ``http://host:5000``,
``sqlite:///mlflow.db``, ...) and the experiments (names or ids) as paths. Every active run of the experiment is
a run: named by its run name (runs sharing a name stay apart, as ``<name>@<first 8 characters of the id>``, and
the summary says so), its metric histories read with ``get_metric_history`` (every logged step, not only the
latest value), its params as its configuration (``n_params``, ``batch_size``, ``seq_len`` ...). Deleted runs are
counted in ``skipped``. A metric logged again at an earlier step (a resumed run) keeps its latest values.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from ..exceptions import InputError, MissingDependencyError
from .formats import LogFormat, register_format
from .logs import NONFINITE, LogTable, ParseContext, latest_segment

FORMAT = "mlflow-server"
_URI = re.compile(r"^(mlflows?)://([^/]+)/(.+)$")


def sniff_uri(text: str) -> bool:
    return bool(_URI.match(text))


def split(text: str, tracking_uri: str | None) -> tuple[str, str]:
    """(tracking URI, experiment) of ``mlflow://host:port/experiment``, or of an experiment on ``tracking_uri``."""
    m = _URI.match(text)
    if m:
        return f"{'https' if m[1] == 'mlflows' else 'http'}://{m[2]}", m[3].strip("/")
    if tracking_uri is None:
        raise InputError(f"{text!r} names no MLflow server", hint="write mlflow://host:port/EXPERIMENT, or give "
                         "--tracking-uri")
    return tracking_uri, text


def _client(uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingDependencyError("reading an MLflow tracking server needs the mlflow package; install it with: "
                                     "pip install 'scalinglaws[mlflow]'") from None
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a server that is not there: say so at once
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    return MlflowClient(tracking_uri=uri)


def _experiment(client, uri: str, name: str):
    try:
        experiment = client.get_experiment_by_name(name)
        if experiment is None and name.isdigit():
            experiment = client.get_experiment(name)
    except Exception as err:  # MlflowException, requests' ConnectionError ...
        if "RESOURCE_DOES_NOT_EXIST" in str(err):
            experiment = None
        else:
            raise InputError(f"cannot reach the MLflow tracking server ({type(err).__name__}: "
                             f"{str(err).splitlines()[0][:200]})", path=uri,
                             hint="check the address, and that 'mlflow server' is running there") from None
    if experiment is None:
        known = [e.name for e in client.search_experiments()]
        raise InputError(f"has no experiment {name!r}", path=uri,
                         hint=f"its experiments are: {', '.join(known[:20]) or 'none'}")
    return experiment


def _runs(client, experiment_id: str, view) -> list:
    out, token = [], None
    while True:
        page = client.search_runs([experiment_id], run_view_type=view, max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def _history(client, run_id: str, key: str, where: str, ctx: ParseContext) -> pd.Series:
    metrics = client.get_metric_history(run_id, key)
    metrics = sorted(metrics, key=lambda m: m.timestamp)  # in the order logged
    steps = np.array([m.step for m in metrics], dtype=np.int64)
    values = np.array([m.value if np.isfinite(m.value) else NONFINITE for m in metrics], dtype=float)
    keep = latest_segment(steps)
    if not keep.all():
        ctx.skip(where, "values replaced by a restart", count=int((~keep).sum()))
    series = pd.Series(values[keep], index=steps[keep])
    return series[~series.index.duplicated(keep="last")]


def parse(text: str, ctx: ParseContext) -> list[LogTable]:
    uri, name = split(str(text), ctx.tracking_uri)
    client = _client(uri)
    experiment = _experiment(client, uri, name)
    from mlflow.entities import ViewType

    runs = _runs(client, experiment.experiment_id, ViewType.ACTIVE_ONLY)
    deleted = _runs(client, experiment.experiment_id, ViewType.DELETED_ONLY)
    base = f"{uri}/#/experiments/{experiment.experiment_id}"
    for run in deleted:
        ctx.skip(f"{base}/runs/{run.info.run_id}", "deleted MLflow runs")
    names = [run.info.run_name or run.info.run_id for run in runs]
    repeated = {n for n in names if names.count(n) > 1}
    if repeated:
        ctx.notes.append(f"{uri} {name}: {sum(names.count(n) for n in repeated)} runs share {len(repeated)} run "
                         "names: each is a run of its own, named <name>@<run id>")
    tables = []
    for run, run_name in zip(runs, names):
        run_id = run.info.run_id
        label = f"{run_name}@{run_id[:8]}" if run_name in repeated else run_name
        where = f"{base}/runs/{run_id}"
        columns = {key: _history(client, run_id, key, where, ctx) for key in sorted(run.data.metrics)}
        columns = {k: v for k, v in columns.items() if len(v)}
        if not columns:
            ctx.skip(where, "MLflow runs with no logged metrics")
            continue
        wide = pd.DataFrame(columns).sort_index()
        frame = pd.concat([pd.DataFrame({"run": label, "step": wide.index.to_numpy()}), wide.reset_index(drop=True)],
                          axis=1)
        if run.info.status not in ("FINISHED", None):
            ctx.flag(label, f"MLflow status {run.info.status}")
        tables.append(LogTable(frame=frame, path=where, format=FORMAT, meta={label: dict(run.data.params)},
                               notes=[f"experiment {experiment.name!r} on {uri}"]))
    if not tables and not deleted:
        raise InputError(f"experiment {experiment.name!r} has no runs", path=uri, hint="log runs to it first")
    return tables


register_format(LogFormat(FORMAT, "MLflow tracking servers (mlflow://host:port/experiment, --tracking-uri)",
                          parse=parse, sniff_uri=sniff_uri, priority=4))
