"""Ingest training logs of any supported format into one curves table, a runs table, and points.

:func:`ingest` finds the logs under the given paths (:mod:`scalinglaws.io.detect`), parses each with its
format's parser, and then, the same way for every format:

1. **picks the metrics** that are the training loss, evaluation loss, learning rate and token count
   (:mod:`scalinglaws.io.names`; ``keys=`` overrides);
2. **settles restarts**: when a run's steps go back (it was resumed from an earlier checkpoint), the rows the
   new segment logs again replace the old ones (the old rows are counted as replaced; rows printed again
   with the same step and values are dropped as repeats, and a restart from the run's first step is noted);
   rows of one step (training and evaluation values logged separately) are merged;
3. **joins metadata** (:mod:`scalinglaws.io.runs`): N, batch size, sequence length, from a ``runs.csv``, the
   logs, or config files; a run spread over several files (one W&B export per metric) is merged, and the
   latest ``trainer_state.json`` of a Hugging Face output folder supersedes its checkpoints' states;
4. **derives tokens** as step × batch size × sequence length when they were not logged (and flags logged
   tokens that disagree with that product by more than 2%, a sign of per-device counts);
5. **checks every run**: a logged NaN/inf loss, or a final loss more than ``diverge_factor`` times the best
   loss, flags the run as *diverged* (it stays in the curves, and is excluded from points with a reason); a loss
   named in bits (``bpb``, ``bits``) or a median loss above 20 nats (a per-sequence sum?) is flagged as a unit
   problem.

Nothing is dropped silently: skipped lines, replaced rows, superseded files and ignored files are counted in
:attr:`Ingested.skipped` and printed by :meth:`Ingested.summary`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..schema import CURVES_COLUMNS, FLOPS_PER_PARAM_TOKEN, counted, format_number
from .checks import check_runs
from .detect import LFS_REASON, Found, discover
from .formats import get_format
from .lineage import supersede_states
from .logs import Columns, LogTable, ParseContext, Rows, concat_rows, frame_of, writeable
from .names import ROLES, choose_keys, rivals
from .runs import gather, read_sidecar, sidecar_entry
from .textlog import compile_regex

__all__ = ["Ingested", "ingest"]
_TOKEN_TOLERANCE = 0.02


@dataclass(frozen=True)
class Ingested:
    """What :func:`ingest` read.

    Attributes
    ----------
    curves : DataFrame
        One row per logged step: ``run``, ``step``, ``tokens``, ``lr``, ``loss`` (training), ``eval_loss``;
        NaN where a value was not logged (non-finite logged values are NaN here and flag the run).
    runs : DataFrame
        One row per run: ``format``, ``source``, ``rows``, ``last_step``, ``tokens`` (at the last step), ``N``
        (and ``N_embed``, ``N_total`` when counted from a model config), ``batch_size``, ``seq_len``,
        ``tokens_per_step``, where N and tokens came from, which logged metric fills each role, ``diverged``
        and ``flags`` (text).
    files : DataFrame
        One row per parsed log: ``path``, ``format``, ``runs``, ``rows``, ``notes``.
    skipped : DataFrame
        ``path``, ``reason``, ``count`` and ``detail`` (the one-line message, where there is one) of everything
        left out: skipped lines, rows replaced by restarts, superseded states, files in folders that are not
        logs or could not be read.
    notes : tuple of str
        What was merged, renamed, guessed or defaulted, in words (printed by :meth:`summary`).
    """

    curves: pd.DataFrame
    runs: pd.DataFrame
    files: pd.DataFrame
    skipped: pd.DataFrame
    settings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """The curves with each run's ``N``, ``C = 6·N·tokens``, ``format`` and ``source`` joined on."""
        info = self.runs.set_index("run")
        out = self.curves.copy()
        n = out["run"].map(info["N"]) if "N" in info else pd.Series(np.nan, index=out.index)
        out["N"] = n.to_numpy(dtype=float)
        out["C"] = FLOPS_PER_PARAM_TOKEN * out["N"].to_numpy() * out["tokens"].to_numpy(dtype=float)
        for column in ("format", "source"):
            out[column] = out["run"].map(info[column]).astype("category")
        return out

    def points(self, how: str = "final", *, metric: str = "auto", ema: float = 10, ema_unit: str = "steps",
               at_tokens=None, at_flops=None, include_diverged: bool = False, require=("N", "D")) -> pd.DataFrame:
        """One point per run (or per run and token count), ready for :func:`~scalinglaws.fit`.

        See :func:`~scalinglaws.io.points.points_from_curves` for ``how``, ``metric``, ``ema``, ``ema_unit``,
        ``at_tokens`` and ``at_flops``. Diverged runs are kept with ``exclude=True`` and their reason (or dropped from the
        table's fit with ``include_diverged=True`` to fit them anyway).
        """
        from .points import points_from_curves

        if not len(self.runs):
            left = self.skipped.groupby("reason", sort=False)["count"].sum()
            raise InputError("no run could be read from the logs",
                             hint="; ".join(f"{r}: {n}" for r, n in left.items()) or "the logs hold no runs")
        return points_from_curves(self.curves, self.runs, how=how, metric=metric, ema=ema, ema_unit=ema_unit,
                                  at_tokens=at_tokens,
                                  at_flops=at_flops, include_diverged=include_diverged, require=require)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The runs, the files read and what was skipped (the curves are :attr:`curves`)."""
        return {"runs": self.runs, "files": self.files, "skipped": self.skipped}

    def summary(self, max_runs: int = 40) -> str:
        """Files, runs (format, steps, tokens, N, final loss, flags), what was merged, renamed or guessed, and
        everything left out with its reason, as text. Past ``max_runs`` runs, only the runs with flags are
        listed one by one (every run is in :attr:`runs`)."""
        formats = Counter(self.files["format"])
        kinds = f" ({', '.join(f'{n} {k}' for k, n in sorted(formats.items()))})" if formats else ""
        lines = [f"Ingested {counted(len(self.files), 'log')}{kinds}: {counted(len(self.runs), 'run')}, "
                 f"{counted(len(self.curves), 'row')}"]
        if len(self.runs):
            lines.append(f"  {'run':<28} {'format':<18} {'steps':>8} {'tokens':>8} {'N':>8} {'loss':>8} "
                         f"{'eval':>8}  flags")
        last = self.curves.groupby("run", sort=False).agg(loss=("loss", "last"), eval_loss=("eval_loss", "last"))
        quiet = 0
        for row in self.runs.itertuples():
            flags = (f"DIVERGED ({row.reason}); " if row.diverged else "") + (row.flags or "")
            if len(self.runs) > max_runs and not flags:
                quiet += 1
                continue
            fmt = lambda v: "-" if v is None or not np.isfinite(v) else format_number(v)
            loss = last["loss"].get(row.run, np.nan)
            ev = last["eval_loss"].get(row.run, np.nan)
            lines.append(f"  {str(row.run)[:28]:<28} {row.format[:18]:<18} {row.last_step:>8} "
                         f"{fmt(row.tokens):>8} {fmt(row.N):>8} "
                         f"{'-' if np.isnan(loss) else f'{loss:.4f}':>8} {'-' if np.isnan(ev) else f'{ev:.4f}':>8}"
                         f"  {flags.rstrip('; ')}")
        if quiet:
            lines.append(f"  ... and {quiet} more runs without flags (all of them: the runs table, --runs-out)")
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  {note}" for note in self.notes)
        if len(self.skipped):
            lines.append("Left out:")
            for (reason, ), group in self.skipped.groupby(["reason"], sort=False):
                where = ", ".join(Path(p).name for p in group["path"].head(3))
                more = f" and {len(group) - 3} more" if len(group) > 3 else ""
                lines.append(f"  {reason}: {int(group['count'].sum())} ({where}{more})")
                details = group["detail"] if "detail" in group else ()
                for detail in [d for d in details if d][:3]:
                    lines.append(f"      {detail}")
        return "\n".join(lines)


def ingest(paths, *, runs=None, regex: str | None = None, keys: Mapping[str, str] | None = None,
           skip_bad_lines: bool = False, diverge_factor: float = 1.25, params: str = "non_embedding",
           strict: bool = False, tracking_uri: str | None = None, n_jobs: int | None = None,
           progress: bool | None = None) -> Ingested:
    """Read training logs (files or folders, any supported format) into an :class:`Ingested`.

    Parameters
    ----------
    paths : path or sequence of paths
        Log files, run folders, folders to search, or tracking servers (``mlflow://host:port/experiment``).
    runs : path, optional
        A sidecar table with a ``run`` column and metadata (``N``, ``batch_size``, ``seq_len``, ...). A
        ``runs.csv`` found in an ingested folder is read too.
    regex : str, optional
        A pattern with named groups ``step`` and ``loss`` (and optionally ``eval_loss``, ``lr``, ``tokens``)
        for text logs of trainers scalinglaws does not know.
    keys : mapping, optional
        Role → logged metric name, when the automatic choice is wrong: ``{"loss": "train/loss_smooth"}``.
    skip_bad_lines : bool
        Skip (and count) malformed and cut-off lines instead of stopping at the first.
    diverge_factor : float
        A run whose smoothed training loss ends this factor above its best is flagged as diverged.
    params : {"non_embedding", "total"}
        Which count N is when it comes from a model config (see :mod:`scalinglaws.io.architecture`).
    strict : bool
        Stop at the first log of a folder that cannot be read (by default it is skipped, and ``skipped`` says
        why).
    tracking_uri : str, optional
        An MLflow tracking server (``http://host:5000``): ``paths`` not on disk name its experiments.
    n_jobs : int, optional
        Worker processes reading the logs (-1: every core). Default: every core for folders of at least
        :data:`PARALLEL_FROM` logs, else this process.
    progress : bool, optional
        A progress bar while reading; by default only on an interactive terminal.

    Raises
    ------
    InputError
        For a log named by the user that cannot be read (named with its line), a run found twice, or
        conflicting metadata; in folders, a log that cannot be read is skipped and listed (unless ``strict``).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if params not in ("non_embedding", "total"):
        raise InputError(f"params must be 'non_embedding' or 'total', not {params!r}")
    if not diverge_factor > 1:
        raise InputError(f"diverge_factor must be > 1, got {diverge_factor}")
    from .._parallel import valid_n_jobs

    if n_jobs is not None and not valid_n_jobs(n_jobs):
        raise InputError(f"n_jobs must be a number of processes >= 1, or -1 for every core, got {n_jobs!r}",
                         hint="give e.g. n_jobs=2 (--n-jobs 2)")
    ctx = ParseContext(regex=compile_regex(regex) if regex else None, skip_bad_lines=skip_bad_lines,
                       tracking_uri=tracking_uri)
    found, passed, sidecars = discover(paths, ctx.regex, tracking_uri=tracking_uri)
    for path, reason in passed:
        if strict and (reason == LFS_REASON or reason.startswith(("unreadable", "special files"))):
            raise InputError(f"is one of the {reason}", path=path, hint="leave out --strict to skip it")
        ctx.skip(path, reason)
    if runs is not None:
        sidecars = [Path(runs), *sidecars]
    sidecar = _sidecars(sidecars)
    tables = read_logs(found, ctx, strict=strict, n_jobs=n_jobs, progress=progress, keys=keys or {})
    parts: list[tuple[LogTable, pd.DataFrame, dict, Found]] = []
    blocks: list[tuple[np.ndarray, list[str]]] = []  # each settled frame's run blocks: starts and names
    logged: dict[str, list[str]] = {}  # metric names of each log, for messages
    for table, item, ready in tables:
        ctx.root = item.root
        metrics = [str(c) for c in (_metrics(table.frame) if ready is None else ready.metrics)]
        logged[table.path] = metrics
        if ready is None:
            frame, chosen = _canonical(table, keys or {}, ctx)
        else:  # done by the worker that read the log: what it noted is noted here, in the same order
            ctx.notes.extend(ready.notes)
            if ready.error is not None:
                raise ready.error
            frame, chosen = ready.frame, ready.chosen
        if (frame.empty if ready is None else ready.empty):
            ctx.skip(table.path, "logs with no logged steps")
            continue
        if "loss" not in chosen and "eval_loss" not in chosen:
            error = _no_loss(table, metrics, keys)
            if (item.named and isinstance(item.path, Path) and Path(item.path).is_file()) or strict:
                raise error
            ctx.skip(table.path, "logs with no loss metric", str(error))
            continue
        if ready is None or ready.settled is None:
            settled, starts, names = _settle(frame, table, ctx)
        else:
            ctx.skipped.update(ready.skipped)
            settled, starts, names = ready.settled
        for name in names:
            if not name.strip():  # a run name of spaces only
                i = int(np.flatnonzero((frame["run"] == name).to_numpy())[0])
                raise InputError("run name is blank", column="run", hint="name the run of every row",
                                 **table.line_of(i))
        parts.append((table, settled, chosen, item))
        blocks.append((starts, names))
    if keys:
        used = {name for _, _, chosen, _ in parts for name in chosen.values()}
        for role, name in keys.items():
            if name not in used:
                there = sorted({m for names in logged.values() for m in names})
                shown = ", ".join(there[:40]) + (f" and {len(there) - 40} more" if len(there) > 40 else "")
                raise InputError(f"no log has a metric {name!r} (given for {role})",
                                 hint=f"the metrics logged are: {shown}" if there else "the logs hold no metrics")
    if not parts:
        named = [str(item.path) for item in found if item.named]
        if named and not any(r not in ("logs with no logged steps",) for (_, r) in ctx.skipped):
            raise InputError("no logged steps found", path=", ".join(sorted(named)),
                             hint="the logs hold no data rows yet; give logs of runs that have started")
        return _empty(ctx, paths, diverge_factor, params, keys, regex, skip_bad_lines)
    parts, blocks = supersede_states(parts, blocks, ctx)
    _tell_apart(parts, blocks, ctx)
    curves, owners, segments = _combine(parts, blocks, ctx)
    info = _run_info(curves, owners, sidecar, params)
    matched = {sidecar_entry(run, sidecar).get("_name") for run in info["run"]}
    for name, row in sidecar.items():
        if name not in matched:
            ctx.skip(row["_from"], "runs-table rows naming no ingested run")
    curves, info = _tokens(curves, info, segments, ctx)
    info = check_runs(curves, info, diverge_factor, segments, ctx.flags)
    curves = _clean(curves)
    files = pd.DataFrame([{"path": t.path, "format": t.format, "runs": len(names), "rows": len(f),
                           **{f"{role}_key": chosen.get(role) for role in ROLES}, "notes": "; ".join(t.notes)}
                          for (t, f, chosen, _), (_, names) in zip(parts, blocks)])
    return Ingested(curves=curves, runs=info, files=files, skipped=_skipped_table(ctx),
                    settings=_settings(paths, diverge_factor, params, keys, regex, skip_bad_lines),
                    notes=tuple(dict.fromkeys(ctx.notes)))


#: Folders with at least this many logs are read by worker processes (``n_jobs=None``). Measured by
#: benchmarks/ingest_states.py on 2 shared cores (docs/benchmarks.md): in a fresh process, starting workers cost
#: more than they saved below about 1,000 trainer states (1.3-3x the time in one process) and were even at best
#: at 2,000 (0.95-1.03x idle, 1.1-1.6x busy), so the default stays in this process up to here; ``n_jobs`` chooses
#: (with workers kept by joblib, as in a notebook, 2,000 states read 1.3-1.5x faster with -1).
PARALLEL_FROM = 4096
#: Folders with at least this many logs show a progress bar on a terminal (``progress=None``).
PROGRESS_FROM = 64


def read_logs(found: Sequence[Found], ctx: ParseContext, *, strict: bool = False, n_jobs: int | None = None,
              progress: bool | None = None, keys: Mapping[str, str] | None = None
              ) -> list[tuple[LogTable, Found, "_Ready | None"]]:
    """Parse every log (in worker processes when there are many), each with a fresh context whose counts are
    added to ``ctx``. A log the user named that fails raises; one met in a folder is skipped with its reason
    (unless ``strict``). Worker processes also pick each table's metrics (``keys``) and settle its restarts
    (:class:`_Ready`); in this process that is left to the caller."""
    from .._parallel import run_tasks, worker_count

    if n_jobs is None:
        n_jobs = -1 if len(found) >= PARALLEL_FROM else 1
    if progress is None and len(found) < PROGRESS_FROM:
        progress = False  # a bar only where reading takes a while
    ready = None if n_jobs == 1 else dict(keys or {})
    roots = {item.root: Path(item.root).resolve() for item in found if item.root is not None}
    tasks = [(get_format(item.format).parse, item.path, ctx.fresh(item.root, roots.get(item.root)),
              item.named or strict, ready) for item in found]
    if n_jobs == 1:
        results = run_tasks(_read_one, tasks, n_jobs=1, progress=progress, description="reading logs")
    else:  # workers take the logs in chunks: a round trip per log costs more than reading a small one
        size = max(1, min(_CHUNK, -(-len(tasks) // (8 * worker_count(n_jobs)))))
        chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
        results = [result for chunk in run_tasks(_read_chunk, [(chunk,) for chunk in chunks], n_jobs=n_jobs,
                                                 progress=progress, description=f"reading logs, {size} a chunk")
                   for result in chunk]
    out: list[tuple[LogTable, Found, _Ready | None]] = []
    for item, (tables, sub, error) in zip(found, results):
        ctx.absorb(sub)
        if error is not None:
            if item.named or strict:
                raise error
            reason = getattr(error, "reason", None) or (LFS_REASON if "Git LFS" in error.problem
                                                        else "unreadable logs")
            ctx.skip(item.path, reason, str(error))
            continue
        out.extend((table, item, prepared) for table, prepared in tables)
    return out


@dataclass
class _Ready:
    """A table's canonical frame (metrics renamed to roles) and its settled frame, made by the worker that read
    it, with what doing so noted (``notes``, ``skipped``) or the error it met, for the caller to replay."""

    frame: pd.DataFrame | None = None  # kept only where the caller needs its rows (a blank run name)
    chosen: dict | None = None
    metrics: list = field(default_factory=list)  # the log's metric names (its columns but run and step)
    empty: bool = False
    settled: tuple | None = None
    notes: list = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    error: InputError | None = None


def _prepare(table: LogTable, keys: Mapping[str, str]) -> _Ready:
    """:func:`_canonical` and :func:`_settle` of one table, as the caller's loop would run them."""
    record = ParseContext()
    try:
        frame, chosen = _canonical(table, keys, record)
    except InputError as err:
        return _Ready(notes=record.notes, error=err)
    ready = _Ready(chosen=chosen, metrics=_metrics(table.frame), notes=record.notes, empty=frame.empty)
    if frame.empty or ("loss" not in chosen and "eval_loss" not in chosen):
        return ready  # the caller skips it, or raises
    settled = _settle(frame, table, record)
    ready.settled, ready.skipped = settled, record.skipped
    if not all(name.strip() for name in settled[2]):
        ready.frame = frame  # the caller names the line of the blank name
    return ready


#: At most this many logs in one task of a worker.
_CHUNK = 64


def _read_chunk(tasks: Sequence[tuple]) -> list:
    """:func:`_read_one` of each task, in a worker; the settled frames of the chunk's logs go back as one frame
    (their :class:`Rows`): a frame a log costs more to send and receive than to make."""
    results = [_read_one(*task) for task in tasks]
    ready = [r for tables, _, _ in results for _, r in tables if r is not None and r.settled is not None
             and r.frame is None]
    if len(ready) > 1:
        lengths = np.array([len(r.settled[0]) for r in ready])
        block = pd.concat([r.settled[0] for r in ready], ignore_index=True)
        for r, hi, n in zip(ready, np.cumsum(lengths).tolist(), lengths.tolist()):
            r.settled = (Rows(block, hi - n, hi), *r.settled[1:])
    return results


def _read_one(parse, path, ctx: ParseContext, raising: bool, keys: Mapping[str, str] | None = None):
    """One log: (its tables, its context, None) or ([], its context, the error that stopped it). With ``keys``
    (in a worker), each table comes with its :func:`_prepare`; else with None."""
    try:
        tables = parse(path, ctx)
        if keys is None:
            return [(table, None) for table in tables], ctx, None
        out = []
        for table in tables:
            ready = _prepare(table, keys)
            table.frame = None  # the caller has its columns' names (ready.metrics): the frame stays here
            out.append((table, ready))
        return out, ctx, None
    except InputError as err:
        return [], ctx, err
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as err:  # a parser's library failed on a file of a folder: the folder goes on
        if raising:
            raise
        return [], ctx, InputError(f"cannot be read ({type(err).__name__}: {err})".replace("\n", " "), path=path,
                                   hint="read it alone to see the whole error")


def _no_loss(table: LogTable, metrics: list[str], keys) -> InputError:
    shown = ", ".join(metrics[:12]) + (f" and {len(metrics) - 12} more" if len(metrics) > 12 else "")
    return InputError("has no loss metric (neither a training nor an evaluation loss)", path=table.path,
                      hint=(f"its metrics are {shown}; if one is the loss, name it with --key loss=NAME"
                            if metrics else "it logged no metric"))


def _settings(paths, diverge_factor, params, keys, regex, skip_bad_lines) -> dict:
    return {"paths": [str(p) for p in paths], "diverge_factor": diverge_factor, "params": params,
            "keys": dict(keys or {}), "regex": regex, "skip_bad_lines": skip_bad_lines}


def _skipped_table(ctx: ParseContext) -> pd.DataFrame:
    return pd.DataFrame([{"path": p, "reason": r, "count": int(n), "detail": ctx.details.get((p, r), "")}
                         for (p, r), n in ctx.skipped.items()], columns=["path", "reason", "count", "detail"])


def _empty(ctx, paths, diverge_factor, params, keys, regex, skip_bad_lines) -> Ingested:
    """What an ingest that read no run gives: empty tables, and everything left out, with its reasons."""
    curves = pd.DataFrame({c: pd.Series(dtype=object if c == "run" else float) for c in CURVES_COLUMNS})
    curves["step"] = curves["step"].astype(np.int64)
    runs = pd.DataFrame(columns=["run", "format", "source", "rows", "last_step", "tokens", "N", "diverged",
                                 "reason", "flags"])
    files = pd.DataFrame(columns=["path", "format", "runs", "rows", "notes"])
    return Ingested(curves=curves, runs=runs, files=files, skipped=_skipped_table(ctx),
                    settings=_settings(paths, diverge_factor, params, keys, regex, skip_bad_lines),
                    notes=tuple(dict.fromkeys(ctx.notes)))


def _sidecars(paths: Sequence[Path]) -> dict[str, dict]:
    """Every runs table's rows by run name (each row knows its file, ``_from``, and name, ``_name``)."""
    merged: dict[str, dict] = {}
    for path in paths:
        for run, values in read_sidecar(path).items():
            if run in merged:
                raise InputError(f"run {run!r} is listed in {merged[run]['_from']} too", path=path,
                                 hint="list every run in one runs table")
            merged[run] = {**values, "_from": str(path), "_name": run}
    return merged


def _metrics(frame: "pd.DataFrame | Columns") -> list:
    """The metric columns of a log's table (all but ``run`` and ``step``)."""
    return [c for c in (frame.names if isinstance(frame, Columns) else frame.columns.tolist())
            if c not in ("run", "step")]


def _column(frame: "pd.DataFrame | Columns", name, dtype) -> np.ndarray:
    """A column of a log's table as an array of ``dtype``."""
    return np.asarray(frame[name], dtype=dtype) if isinstance(frame, Columns) else frame[name].to_numpy(dtype=dtype)


def _canonical(table: LogTable, user_keys: Mapping[str, str], ctx: ParseContext) -> tuple[pd.DataFrame, dict]:
    """The table with its metrics renamed to the roles, values checked (lines named), in logged order. A choice
    among equally good metrics (several eval sets) is said in ``ctx.notes``."""
    frame = table.frame
    metrics = _metrics(frame)
    given = dict(table.keys)
    given.update({role: name for role, name in user_keys.items() if name in metrics})
    chosen = choose_keys(metrics, {r: n for r, n in given.items() if n in metrics})
    for role, name in table.keys.items():
        if name is None and role not in user_keys:  # the format knows no metric of the log is this role
            chosen.pop(role, None)
    for role, name in chosen.items():
        others = [] if role in user_keys or table.keys.get(role) == name else rivals(role, name, metrics)
        if others:
            ctx.notes.append(f"{Path(table.path).name}: {len(others) + 1} metrics could be the {role} "
                             f"({', '.join(map(str, [name, *others]))}); {name!r} was taken; choose with "
                             f"--key {role}=NAME")
    out = {"run": frame["run"], "step": _column(frame, "step", np.int64)}
    for role in ROLES:
        if role not in chosen:  # not logged: a read-only all-NaN view, which takes no memory
            out[role] = np.broadcast_to(np.float64(np.nan), len(frame))
            continue
        values = _column(frame, chosen[role], float)
        if role in ("lr", "tokens"):  # a loss may be 0 or below (RL, Dice objectives): kept, and flagged later
            lowest = np.fmin.reduce(values) if values.size else np.nan  # NaN-ignoring; no temporary array
            bad = np.flatnonzero(values < 0) if lowest < 0 else ()
            if len(bad):
                i = int(bad[0])
                raise InputError(f"{values[i]:g} in {chosen[role]!r}: {role} must be >= 0", column=str(chosen[role]),
                                 hint="pick another metric with --key", **table.line_of(i))
        out[role] = values
    return pd.DataFrame(out, copy=False), chosen


def _settle(frame: pd.DataFrame, table: LogTable, ctx: ParseContext) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Apply restarts and merge rows of one step, per run; rows come back sorted by run (first seen) and step,
    with where each run's rows start and the runs' names."""
    starts, names, contiguous = run_blocks(frame["run"])
    steps = frame["step"].to_numpy()
    if contiguous:
        order, s = None, steps
        # every run's steps increase when a step goes back, if at all, only where a run starts
        if np.isin(np.flatnonzero(s[1:] <= s[:-1]), starts[1:] - 1).all():
            return frame, starts, names
        same = np.ones(max(len(steps) - 1, 0), dtype=bool)
        same[starts[1:] - 1] = False
    else:
        codes = pd.factorize(frame["run"], sort=False)[0]
        order = np.argsort(codes, kind="stable")
        c, s = codes[order], steps[order]
        same = c[1:] == c[:-1]
        if not np.any(same & (s[1:] <= s[:-1])):  # every run's steps increase: nothing to settle
            frame = frame.iloc[order].reset_index(drop=True)
            return (frame, *run_blocks(frame["run"])[:2])
    ordered = frame if order is None else frame.iloc[order].reset_index(drop=True)
    run_of = np.r_[0, np.cumsum(~same)]  # run number of each (ordered) row
    back = same & (s[1:] < s[:-1])
    if back.any():
        # rows printed again word for word (a job script echoing the run's last lines after it ends) are no
        # restart: they are dropped, and the rows they repeat kept
        repeat = ordered.duplicated(keep="first").to_numpy()
        if repeat.any():
            ctx.skipped[(table.path, "rows repeated exactly (same run, step and values)")] += int(repeat.sum())
            ordered, run_of, s = ordered.loc[~repeat].reset_index(drop=True), run_of[~repeat], s[~repeat]
            same = run_of[1:] == run_of[:-1]
            back = same & (s[1:] < s[:-1])
    if back.any():
        # a segment starts where a run's step goes back (a resumed run); rows of earlier segments at or after
        # the step a later segment starts from were logged again, and are replaced
        segment = np.r_[0, np.cumsum(~same | back)]
        first = pd.DataFrame({"run": run_of, "segment": segment, "step": s}).groupby("segment", sort=True).agg(
            run=("run", "first"), start=("step", "min"))
        _say_fresh_starts(first, ordered["run"].to_numpy()[np.r_[0, np.flatnonzero(~same) + 1]], table, ctx)
        later = first.iloc[::-1].groupby("run", sort=False)["start"].cummin()
        later = later.groupby(first["run"].iloc[::-1], sort=False).shift(1).iloc[::-1]
        replaced = s >= later.reindex(segment).to_numpy()  # NaN (no later segment) compares False
        if replaced.any():
            ctx.skipped[(table.path, "rows replaced by a restart")] += int(replaced.sum())
            ordered, run_of = ordered.loc[~replaced].reset_index(drop=True), run_of[~replaced]
    ordered = _merge_steps(ordered, run_of)  # split rows of one step merged, in run order
    return (ordered, *run_blocks(ordered["run"])[:2])


def _say_fresh_starts(first: pd.DataFrame, names, table: LogTable, ctx: ParseContext) -> None:
    """A note for each run whose steps start again from its first step (not from a checkpoint): one run
    restarted from scratch, or separate runs (seeds of a batch job) written to one log. They are read as the
    former (the latest segment replaces the earlier ones), and the note says how to read the latter."""
    origin = first.groupby("run", sort=False)["start"].transform("first")
    again = first[(first["start"] <= origin) & first["run"].duplicated()]
    for run, group in again.groupby("run", sort=False):
        times = "" if len(group) == 1 else f" {len(group)} times"
        ctx.notes.append(f"{Path(table.path).name}: run {names[run]!r} starts again from its first step "
                         f"({int(group['start'].iloc[0])}){times}, a restart from scratch, not from a checkpoint: "
                         "read as one run whose latest start replaces the earlier rows; if these are separate runs "
                         "(seeds of a batch job), write each to its own log")


def _merge_steps(frame: pd.DataFrame, run_of: np.ndarray) -> pd.DataFrame:
    """One row per run and step, sorted by run number and step, each metric its last logged (non-NaN) value
    among the rows of that step: what ``groupby(["_run", "step"], sort=True).last()`` gives, in numpy (a
    groupby costs milliseconds, and a folder of trainer states has one such frame per file)."""
    steps = frame["step"].to_numpy()
    n = len(steps)
    if n and not np.all((run_of[1:] > run_of[:-1]) | ((run_of[1:] == run_of[:-1]) & (steps[1:] >= steps[:-1]))):
        order = np.lexsort((steps, run_of))  # stable: rows of one step keep their logged order
        frame, steps, run_of = frame.iloc[order].reset_index(drop=True), steps[order], run_of[order]
    starts = np.flatnonzero(np.r_[True, (run_of[1:] != run_of[:-1]) | (steps[1:] != steps[:-1])]) if n else \
        np.zeros(0, dtype=np.intp)
    if len(starts) == n:
        return frame
    rows = np.arange(n)
    out = {}
    for column in frame.columns:
        if column == "run":
            out[column] = frame[column].iloc[starts].reset_index(drop=True)
        elif column == "step":
            out[column] = steps[starts]
        else:
            values = frame[column].to_numpy()
            last = np.maximum.reduceat(np.where(np.isnan(values), -1, rows), starts)
            out[column] = np.where(last >= 0, values[last], np.nan)
    return pd.DataFrame(out, copy=False)


def _tell_apart(parts, blocks, ctx: ParseContext) -> None:
    """Runs named after their files or folders (``main.log`` → ``main``) that two logs of a folder both give are
    two runs, not one: each is renamed after its path below the ingested folder, and the notes say so."""
    owners: dict[str, list[int]] = {}
    for k, (_, names) in enumerate(blocks):
        for run in names:
            owners.setdefault(run, []).append(k)
    for run, ks in owners.items():
        if len(ks) < 2 or not all(parts[k][0].named_by_path and len(blocks[k][1]) == 1 for k in ks):
            continue
        new = {}
        for k in ks:
            table, item = parts[k][0], parts[k][3]
            path = Path(table.path)
            try:
                rel = path.resolve().relative_to(Path(item.root).resolve()) if item.root else path
            except ValueError:
                rel = path
            new[k] = rel.with_suffix("").as_posix() if rel.suffix else rel.as_posix()
        if len(set(new.values())) < len(ks):
            continue  # the paths do not tell them apart either: merged or refused below
        for k in ks:
            table, frame, chosen, item = parts[k]
            if run in table.meta:
                table.meta[new[k]] = table.meta.pop(run)
            parts[k] = (table, frame_of(frame).assign(run=new[k]), chosen, item)
            blocks[k] = (blocks[k][0], [new[k]])
            if run in ctx.flags:
                ctx.flags[new[k]] = list(ctx.flags[run])
        ctx.notes.append(f"{len(ks)} logs would all be run {run!r} (named after their files or folders): "
                         f"named by their paths instead, {', '.join(new[k] for k in ks)}")


def _combine(parts, blocks, ctx: ParseContext) -> tuple[pd.DataFrame, dict[str, tuple], tuple]:
    """One frame of all runs; a run found in several logs is merged (disjoint metrics) or refused. Returns
    the frame, each run's part, and the start, end and name of each run's rows in the frame."""
    owners: dict[str, list[int]] = {}
    for k, (_, names) in enumerate(blocks):
        for run in names:  # settled frames: each run is one block
            owners.setdefault(run, []).append(k)
    frames = {k: frame for k, (_, frame, _, _) in enumerate(parts)}  # settled frames, or Rows of a worker's
    chosen_owner: dict[str, tuple] = {}
    merged: list[pd.DataFrame] = []
    for run, ks in owners.items():
        if len(ks) == 1:
            chosen_owner[run] = parts[ks[0]]
            continue
        frames.update((k, frame_of(frames[k])) for k in ks)
        pieces = [(k, frames[k].loc[frames[k]["run"] == run]) for k in ks]
        seen: dict[str, str] = {}
        for k, piece in pieces:
            for role in ROLES:
                if piece[role].notna().any():
                    if role in seen:
                        raise InputError(f"run {run!r} is also in {seen[role]} (both log its {role})",
                                         path=parts[k][0].path,
                                         hint="runs are matched by name: rename one, or ingest them apart")
                    seen[role] = parts[k][0].path
        piece = pd.concat([p for _, p in pieces]).groupby("step", as_index=False, sort=True).last()
        piece["run"] = run
        merged.append(piece[["run", "step", *ROLES]])
        chosen_owner[run] = parts[ks[0]]
        ctx.notes.append(f"run {run!r} is spread over {len(ks)} logs ({', '.join(Path(parts[k][0].path).name for k in ks)}): "
                         "merged by step, each giving different metrics")
        for k in ks:
            frames[k] = frames[k].loc[frames[k]["run"] != run]
    pieces = [(f, blocks[k] if len(f) == len(parts[k][1]) else run_blocks(f["run"])[:2])
              for k, f in frames.items() if len(f)]
    pieces += [(f, (np.zeros(1, dtype=np.intp), [str(f["run"].iat[0])])) for f in merged]
    offsets = np.cumsum([0] + [len(f) for f, _ in pieces])
    starts = np.concatenate([b[0] + o for (_, b), o in zip(pieces, offsets)]).astype(np.intp)
    names = [str(n) for _, b in pieces for n in b[1]]
    curves = pieces[0][0] if len(pieces) == 1 and not isinstance(pieces[0][0], Rows) else \
        concat_rows([f for f, _ in pieces])
    ends = np.r_[starts[1:], len(curves)].astype(np.intp)
    return curves[["run", "step", *ROLES]], chosen_owner, (starts, ends, names)


def _run_info(curves: pd.DataFrame, owners: Mapping[str, tuple], sidecar: Mapping[str, dict],
              params: str) -> pd.DataFrame:
    rows, seen = [], {}
    for run, (table, _, chosen, item) in owners.items():
        folder = Path(table.folder) if table.folder else Path(table.path).parent
        meta = gather(run, table.meta.get(run, {}), folder, item.root, sidecar, seen)
        n_from = str(meta.get("N_source", ""))
        if params == "total" and "N_total" in meta and (n_from.endswith(".json") or n_from.startswith("log")):
            meta["N"], meta["N_source"] = meta["N_total"], f"{n_from}: total (embeddings included)"
        tps, tps_flag = meta.get("tokens_per_step"), ""
        if tps is None and meta.get("batch_size") and meta.get("seq_len"):
            tps = meta["batch_size"] * meta.get("grad_accum", 1.0) * meta["seq_len"]
            if table.format == "lightning" and "batch_size" not in meta.get("_sidecar_fields", ()):
                tps, tps_flag = _per_device(meta, tps)
        rows.append({"run": run, "format": table.format, "source": table.path, "N": meta.get("N", np.nan),
                     "N_embed": meta.get("N_embed", np.nan), "N_total": meta.get("N_total", np.nan),
                     "N_source": meta.get("N_source", meta.get("N_note", "")),
                     "batch_size": meta.get("batch_size", np.nan), "seq_len": meta.get("seq_len", np.nan),
                     "tokens_per_step": np.nan if tps is None else float(tps), "_N_flag": meta.get("N_flag", ""),
                     "_tps_flag": tps_flag,
                     **{f"{role}_key": chosen.get(role, "") for role in ROLES},
                     **{k: v for k, v in meta.items() if k not in _KNOWN and not k.endswith("_source")}})
    return pd.DataFrame(rows)


def _per_device(meta: Mapping, tps: float) -> tuple[float, str]:
    """A Lightning run's batch size is per device: tokens/step × devices × nodes when the config says them, and
    a flag saying the count assumes one device when it does not."""
    devices, nodes = meta.get("devices"), meta.get("num_nodes", 1.0)
    if devices:
        return tps * devices * nodes, ""
    return tps, ("tokens assume 1 device: a Lightning batch size is per device, and no devices/num_nodes were "
                 "found in hparams.yaml or config.yaml (give tokens_per_step in runs.csv)")


_KNOWN = {"N", "N_embed", "N_total", "N_note", "N_flag", "devices", "num_nodes", "_sidecar_fields", "batch_size", "seq_len", "grad_accum", "tokens_per_step",
          "vocab_size"}


def run_blocks(runs: pd.Series) -> tuple[np.ndarray, list, bool]:
    """Where each block of equal neighbouring run names starts, the blocks' names, and whether every run is
    one block (the usual layout, found by comparing neighbours, without hashing the names)."""
    values = runs.array
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp), [], True
    starts = np.r_[0, np.flatnonzero(np.asarray(values[1:] != values[:-1], dtype=bool)) + 1]
    names = [str(values[i]) for i in starts]  # scalar look-ups: a take would copy a chunked column
    return starts, names, len(set(names)) == len(names)


def _tokens(curves: pd.DataFrame, info: pd.DataFrame, segments, ctx: ParseContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill tokens = step × tokens_per_step where not logged; flag logged tokens that disagree."""
    starts, ends, names = segments
    by_run = info.set_index("run").loc[names]
    tps = by_run["tokens_per_step"].to_numpy(dtype=float)
    tps_flags = by_run["_tps_flag"].tolist()
    logged = curves["tokens"].to_numpy(dtype=float)
    steps = curves["step"].to_numpy()
    tokens, flags, sources = logged, {}, {}
    for j, run in enumerate(names):
        lo, hi = starts[j], ends[j]
        seg = logged[lo:hi]
        ok = np.isfinite(seg)
        if ok.any() and not np.fmax.reduce(seg) > 0 and steps[hi - 1] > 0:  # a count the trainer never made
            if tokens is logged:
                tokens = logged.copy()
            tokens[lo:hi] = np.nan
            seg, ok = tokens[lo:hi], np.zeros(hi - lo, dtype=bool)
            ctx.flag(run, "the logged token count is 0 at every step (the trainer did not count tokens): not "
                          "read as tokens")
        if ok.any():
            sources[run] = "logged"
            last = np.flatnonzero(ok & (steps[lo:hi] > 0))
            if np.isfinite(tps[j]) and last.size:
                ratio = seg[last[-1]] / (steps[lo + last[-1]] * tps[j])
                if abs(ratio - 1) > _TOKEN_TOLERANCE:
                    flags[run] = f"logged tokens are {ratio:.3g}x step x tokens/step (per-device counts?)"
        elif np.isfinite(tps[j]):
            sources[run] = "step x tokens/step"
            if tps_flags[j]:
                ctx.flag(run, tps_flags[j])
        if np.isfinite(tps[j]) and not ok.all():
            if tokens is logged:
                tokens = logged.copy()
            tokens[lo:hi] = np.where(ok, seg, steps[lo:hi] * tps[j])
        elif ok.sum() >= 2 and not ok.all():  # logged on some rows (training entries), not on others (evals)
            s, known = steps[lo:hi], np.flatnonzero(ok)
            inside = ~ok & (s >= s[known[0]]) & (s <= s[known[-1]])
            if inside.any():
                if tokens is logged:
                    tokens = logged.copy()
                tokens[lo:hi][inside] = np.interp(s[inside], s[known], seg[known])
                ctx.flag(run, f"tokens at {int(inside.sum())} steps interpolated between the logged counts")
    if tokens is not logged:
        curves = curves.assign(tokens=tokens)
    info = info.copy()
    info["tokens_source"] = [sources.get(run, "") for run in info["run"]]
    info["flags"] = [flags.get(run, "") for run in info["run"]]
    return curves, info.drop(columns="_tps_flag")


def _clean(curves: pd.DataFrame) -> pd.DataFrame:
    """Non-finite markers become NaN (the runs table says which runs had them); columns in their order, each
    an array the user may change in place (pandas hands out read-only views of the logs' columns)."""
    out = {}
    for column in CURVES_COLUMNS:
        if column == "run":
            out[column] = curves[column].reset_index(drop=True)
            continue
        values = curves[column].to_numpy()
        seen = values[:1] if values.strides == (0,) else values  # one repeated value: looked at once
        if column in ROLES and values.size and np.isinf([np.fmin.reduce(seen), np.fmax.reduce(seen)]).any():
            values = np.where(np.isinf(values), np.nan, values)
        out[column] = writeable(values)
    return pd.DataFrame(out, copy=False)
