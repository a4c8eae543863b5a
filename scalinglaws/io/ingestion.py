"""Ingest training logs of any supported format into one curves table, a runs table, and points.

:func:`ingest` finds the logs under the given paths (:mod:`scalinglaws.io.detect`), parses each with its
format's parser, and then, the same way for every format:

1. **picks the metrics** that are the training loss, evaluation loss, learning rate and token count
   (:mod:`scalinglaws.io.names`; ``keys=`` overrides);
2. **settles restarts**: when a run's steps go back (it was resumed from an earlier checkpoint), the rows the
   new segment logs again replace the old ones (the old rows are counted as replaced); rows of one step
   (training and evaluation values logged separately) are merged;
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
from ..schema import CURVES_COLUMNS, FLOPS_PER_PARAM_TOKEN, format_number
from .detect import Found, discover
from .logs import NONFINITE, LogTable, ParseContext, writeable
from .names import ROLES, choose_keys, is_bits
from .runs import gather, read_sidecar, sidecar_entry
from .textlog import compile_regex

__all__ = ["Ingested", "ingest"]
_PER_SEQUENCE = 20.0  # nats: no per-token language-model loss is this high for long (ln 256k ≈ 12.5)
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
        ``path``, ``reason``, ``count`` of everything left out: skipped lines, rows replaced by restarts,
        superseded states, files in folders that are not logs.
    """

    curves: pd.DataFrame
    runs: pd.DataFrame
    files: pd.DataFrame
    skipped: pd.DataFrame
    settings: dict = field(default_factory=dict)

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

    def points(self, how: str = "final", *, metric: str = "auto", ema: int = 10, at_tokens=None,
               at_flops=None, include_diverged: bool = False, require=("N", "D")) -> pd.DataFrame:
        """One point per run (or per run and token count), ready for :func:`~scalinglaws.fit`.

        See :func:`~scalinglaws.io.points.points_from_curves` for ``how``, ``metric``, ``ema``, ``at_tokens`` and
        ``at_flops``. Diverged runs are kept with ``exclude=True`` and their reason (or dropped from the
        table's fit with ``include_diverged=True`` to fit them anyway).
        """
        from .points import points_from_curves

        return points_from_curves(self.curves, self.runs, how=how, metric=metric, ema=ema, at_tokens=at_tokens,
                                  at_flops=at_flops, include_diverged=include_diverged, require=require)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The runs, the files read and what was skipped (the curves are :attr:`curves`)."""
        return {"runs": self.runs, "files": self.files, "skipped": self.skipped}

    def summary(self) -> str:
        """Files, runs (format, steps, tokens, N, final loss, flags) and everything skipped, as text."""
        formats = Counter(self.files["format"])
        lines = [f"Ingested {len(self.files)} logs ({', '.join(f'{n} {k}' for k, n in sorted(formats.items()))}): "
                 f"{len(self.runs)} runs, {len(self.curves)} rows"]
        lines.append(f"  {'run':<28} {'format':<18} {'steps':>8} {'tokens':>8} {'N':>8} {'loss':>8} "
                     f"{'eval':>8}  flags")
        last = self.curves.groupby("run", sort=False).agg(loss=("loss", "last"), eval_loss=("eval_loss", "last"))
        for row in self.runs.itertuples():
            fmt = lambda v: "-" if v is None or not np.isfinite(v) else format_number(v)
            loss = last["loss"].get(row.run, np.nan)
            ev = last["eval_loss"].get(row.run, np.nan)
            flags = (f"DIVERGED ({row.reason}); " if row.diverged else "") + (row.flags or "")
            lines.append(f"  {str(row.run)[:28]:<28} {row.format[:18]:<18} {row.last_step:>8} "
                         f"{fmt(row.tokens):>8} {fmt(row.N):>8} "
                         f"{'-' if np.isnan(loss) else f'{loss:.4f}':>8} {'-' if np.isnan(ev) else f'{ev:.4f}':>8}"
                         f"  {flags.rstrip('; ')}")
        if len(self.skipped):
            lines.append("Left out:")
            for (reason, ), group in self.skipped.groupby(["reason"], sort=False):
                where = ", ".join(Path(p).name for p in group["path"].head(3))
                more = f" and {len(group) - 3} more" if len(group) > 3 else ""
                lines.append(f"  {int(group['count'].sum())} {reason} ({where}{more})")
        return "\n".join(lines)


def ingest(paths, *, runs=None, regex: str | None = None, keys: Mapping[str, str] | None = None,
           skip_bad_lines: bool = False, diverge_factor: float = 1.25, params: str = "non_embedding") -> Ingested:
    """Read training logs (files or folders, any supported format) into an :class:`Ingested`.

    Parameters
    ----------
    paths : path or sequence of paths
        Log files, run folders, or folders to search.
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
        A run whose final loss exceeds its best loss by this factor is flagged as diverged.
    params : {"non_embedding", "total"}
        Which count N is when it comes from a model config (see :mod:`scalinglaws.io.architecture`).

    Raises
    ------
    InputError
        For a file that cannot be read (named with its line), a run found twice, or conflicting metadata.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if params not in ("non_embedding", "total"):
        raise InputError(f"params must be 'non_embedding' or 'total', not {params!r}")
    if not diverge_factor > 1:
        raise InputError(f"diverge_factor must be > 1, got {diverge_factor}")
    ctx = ParseContext(regex=compile_regex(regex) if regex else None, skip_bad_lines=skip_bad_lines)
    found, passed, sidecars = discover(paths, ctx.regex)
    for path, reason in passed:
        ctx.skipped[(path, reason)] += 1
    if runs is not None:
        sidecars = [Path(runs), *sidecars]
    sidecar = _sidecars(sidecars)
    parts: list[tuple[LogTable, pd.DataFrame, dict, Found]] = []
    blocks: list[tuple[np.ndarray, list[str]]] = []  # each settled frame's run blocks: starts and names
    for item in found:
        ctx.root = item.root
        for table in item.parser(item.path, ctx):
            frame, chosen = _canonical(table, keys or {})
            if frame.empty:
                ctx.skipped[(table.path, "logs with no logged steps")] += 1
                continue
            settled, starts, names = _settle(frame, table, ctx)
            for name in names:
                if not name.strip():  # a run name of spaces only
                    i = int(np.flatnonzero((frame["run"] == name).to_numpy())[0])
                    raise InputError("run name is blank", column="run", hint="name the run of every row",
                                     **table.line_of(i))
            parts.append((table, settled, chosen, item))
            blocks.append((starts, names))
    if not parts:
        shown = ", ".join(sorted(p for p, r in ctx.skipped if r == "logs with no logged steps"))
        raise InputError("no logged steps found", path=shown,
                         hint="the logs hold no data rows yet; give logs of runs that have started")
    if keys:
        used = {name for _, _, chosen, _ in parts for name in chosen.values()}
        for role, name in keys.items():
            if name not in used:
                raise InputError(f"no log has a metric {name!r} (given for {role})",
                                 hint="metric names are listed by 'scalinglaws ingest' in its files table")
    curves, owners, segments = _combine(parts, blocks, ctx)
    info = _run_info(curves, owners, sidecar, params)
    matched = {sidecar_entry(run, sidecar).get("_name") for run in info["run"]}
    for name, row in sidecar.items():
        if name not in matched:
            ctx.skipped[(row["_from"], "runs-table rows naming no ingested run")] += 1
    curves, info = _tokens(curves, info, segments)
    info = _checks(curves, info, diverge_factor, segments)
    curves = _clean(curves)
    files = pd.DataFrame([{"path": t.path, "format": t.format, "runs": len(names), "rows": len(f),
                           **{f"{role}_key": chosen.get(role) for role in ROLES}, "notes": "; ".join(t.notes)}
                          for (t, f, chosen, _), (_, names) in zip(parts, blocks)])
    skipped = pd.DataFrame([{"path": p, "reason": r, "count": int(n)} for (p, r), n in ctx.skipped.items()],
                           columns=["path", "reason", "count"])
    return Ingested(curves=curves, runs=info, files=files, skipped=skipped,
                    settings={"paths": [str(p) for p in paths], "diverge_factor": diverge_factor, "params": params,
                              "keys": dict(keys or {}), "regex": regex, "skip_bad_lines": skip_bad_lines})


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


def _canonical(table: LogTable, user_keys: Mapping[str, str]) -> tuple[pd.DataFrame, dict]:
    """The table with its metrics renamed to the roles, values checked (lines named), in logged order."""
    frame = table.frame
    metrics = [c for c in frame.columns if c not in ("run", "step")]
    given = dict(table.keys)
    given.update({role: name for role, name in user_keys.items() if name in metrics})
    chosen = choose_keys(metrics, {r: n for r, n in given.items() if n in metrics})
    out = {"run": frame["run"], "step": frame["step"].to_numpy(dtype=np.int64)}
    for role in ROLES:
        if role not in chosen:  # not logged: a read-only all-NaN view, which takes no memory
            out[role] = np.broadcast_to(np.float64(np.nan), len(frame))
            continue
        values = frame[chosen[role]].to_numpy(dtype=float)
        positive = role in ("loss", "eval_loss")
        lowest = np.fmin.reduce(values) if values.size else np.nan  # NaN-ignoring; no temporary array
        bad = np.flatnonzero(values <= 0 if positive else values < 0) if lowest <= 0 else ()
        if len(bad):
            i = int(bad[0])
            what = "a loss must be positive (nats/token)" if "loss" in role else f"{role} must be >= 0"
            raise InputError(f"{values[i]:g} in {chosen[role]!r}: {what}", column=str(chosen[role]),
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
    # a segment starts where a run's step goes back (a resumed run); rows of earlier segments at or after the
    # step a later segment starts from were logged again, and are replaced
    segment = np.r_[0, np.cumsum(~same | (s[1:] < s[:-1]))]
    first = pd.DataFrame({"run": run_of, "segment": segment, "step": s}).groupby("segment", sort=True).agg(
        run=("run", "first"), start=("step", "min"))
    later = first.iloc[::-1].groupby("run", sort=False)["start"].cummin()
    later = later.groupby(first["run"].iloc[::-1], sort=False).shift(1).iloc[::-1]
    replaced = s >= later.reindex(segment).to_numpy()  # NaN (no later segment) compares False
    if replaced.any():
        ctx.skipped[(table.path, "rows replaced by a restart")] += int(replaced.sum())
        ordered, run_of = ordered.loc[~replaced], run_of[~replaced]
    ordered = ordered.assign(_run=run_of).groupby(["_run", "step"], sort=True, as_index=False).last()
    ordered = ordered.drop(columns="_run")[list(frame.columns)]  # split rows of one step merged, in run order
    return (ordered, *run_blocks(ordered["run"])[:2])


def _combine(parts, blocks, ctx: ParseContext) -> tuple[pd.DataFrame, dict[str, tuple], tuple]:
    """One frame of all runs; a run found in several logs is merged (disjoint metrics) or refused. Returns
    the frame, each run's part, and the start, end and name of each run's rows in the frame."""
    owners: dict[str, list[int]] = {}
    for k, (_, names) in enumerate(blocks):
        for run in names:  # settled frames: each run is one block
            owners.setdefault(run, []).append(k)
    frames = {k: frame for k, (_, frame, _, _) in enumerate(parts)}
    chosen_owner: dict[str, tuple] = {}
    merged: list[pd.DataFrame] = []
    for run, ks in owners.items():
        if len(ks) == 1:
            chosen_owner[run] = parts[ks[0]]
            continue
        pieces = [(k, frames[k].loc[frames[k]["run"] == run]) for k in ks]
        if all(parts[k][0].format == "huggingface" for k in ks):  # checkpoint states of one output folder
            best = max(pieces, key=lambda kp: (kp[1]["step"].max(), len(kp[1])))
            for k, _ in pieces:
                if k != best[0]:
                    ctx.skipped[(parts[k][0].path, "superseded trainer states")] += 1
            chosen_owner[run] = parts[best[0]]
            merged.append(best[1])
        else:
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
        for k in ks:
            frames[k] = frames[k].loc[frames[k]["run"] != run]
    pieces = [(f, blocks[k] if len(f) == len(parts[k][1]) else run_blocks(f["run"])[:2])
              for k, f in frames.items() if len(f)]
    pieces += [(f, (np.zeros(1, dtype=np.intp), [str(f["run"].iat[0])])) for f in merged]
    offsets = np.cumsum([0] + [len(f) for f, _ in pieces])
    starts = np.concatenate([b[0] + o for (_, b), o in zip(pieces, offsets)]).astype(np.intp)
    names = [str(n) for _, b in pieces for n in b[1]]
    curves = pieces[0][0] if len(pieces) == 1 else pd.concat([f for f, _ in pieces], ignore_index=True)
    ends = np.r_[starts[1:], len(curves)].astype(np.intp)
    return curves[["run", "step", *ROLES]], chosen_owner, (starts, ends, names)


def _run_info(curves: pd.DataFrame, owners: Mapping[str, tuple], sidecar: Mapping[str, dict],
              params: str) -> pd.DataFrame:
    rows = []
    for run, (table, _, chosen, item) in owners.items():
        folder = Path(table.folder) if table.folder else Path(table.path).parent
        meta = gather(run, table.meta.get(run, {}), folder, item.root, sidecar)
        if params == "total" and "N_total" in meta and meta.get("N_source", "").endswith(("config.json", ".json")):
            meta["N"] = meta["N_total"]
        tps = meta.get("tokens_per_step")
        if tps is None and meta.get("batch_size") and meta.get("seq_len"):
            tps = meta["batch_size"] * meta.get("grad_accum", 1.0) * meta["seq_len"]
        rows.append({"run": run, "format": table.format, "source": table.path, "N": meta.get("N", np.nan),
                     "N_embed": meta.get("N_embed", np.nan), "N_total": meta.get("N_total", np.nan),
                     "N_source": meta.get("N_source", meta.get("N_note", "")),
                     "batch_size": meta.get("batch_size", np.nan), "seq_len": meta.get("seq_len", np.nan),
                     "tokens_per_step": np.nan if tps is None else float(tps),
                     **{f"{role}_key": chosen.get(role, "") for role in ROLES},
                     **{k: v for k, v in meta.items() if k not in _KNOWN and not k.endswith("_source")}})
    return pd.DataFrame(rows)


_KNOWN = {"N", "N_embed", "N_total", "N_note", "batch_size", "seq_len", "grad_accum", "tokens_per_step",
          "vocab_size"}


def run_blocks(runs: pd.Series) -> tuple[np.ndarray, list, bool]:
    """Where each block of equal neighbouring run names starts, the blocks' names, and whether every run is
    one block (the usual layout, found by comparing neighbours, without hashing the names)."""
    values = runs.array
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp), [], True
    starts = np.flatnonzero(np.r_[True, np.asarray(values[1:] != values[:-1], dtype=bool)])
    names = [str(values[i]) for i in starts]  # scalar look-ups: a take would copy a chunked column
    return starts, names, len(set(names)) == len(names)


def _tokens(curves: pd.DataFrame, info: pd.DataFrame, segments) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill tokens = step × tokens_per_step where not logged; flag logged tokens that disagree."""
    starts, ends, names = segments
    tps = info.set_index("run").loc[names, "tokens_per_step"].to_numpy(dtype=float)
    logged = curves["tokens"].to_numpy(dtype=float)
    steps = curves["step"].to_numpy()
    tokens, flags, sources = logged, {}, {}
    for j, run in enumerate(names):
        lo, hi = starts[j], ends[j]
        seg = logged[lo:hi]
        ok = np.isfinite(seg)
        if ok.any():
            sources[run] = "logged"
            last = np.flatnonzero(ok & (steps[lo:hi] > 0))
            if np.isfinite(tps[j]) and last.size:
                ratio = seg[last[-1]] / (steps[lo + last[-1]] * tps[j])
                if abs(ratio - 1) > _TOKEN_TOLERANCE:
                    flags[run] = f"logged tokens are {ratio:.3g}x step x tokens/step (per-device counts?)"
        elif np.isfinite(tps[j]):
            sources[run] = "step x tokens/step"
        if np.isfinite(tps[j]) and not ok.all():
            if tokens is logged:
                tokens = logged.copy()
            tokens[lo:hi] = np.where(ok, seg, steps[lo:hi] * tps[j])
    if tokens is not logged:
        curves = curves.assign(tokens=tokens)
    info = info.copy()
    info["tokens_source"] = [sources.get(run, "") for run in info["run"]]
    info["flags"] = [flags.get(run, "") for run in info["run"]]
    return curves, info


def _checks(curves: pd.DataFrame, info: pd.DataFrame, diverge_factor: float, segments) -> pd.DataFrame:
    """Steps, tokens, divergence and unit checks per run."""
    starts, ends, names = segments
    step = curves["step"].to_numpy()
    tokens = curves["tokens"].to_numpy(dtype=float)
    loss = curves["loss"].to_numpy(dtype=float)
    eval_loss = curves["eval_loss"].to_numpy(dtype=float)
    by_run = info.set_index("run")
    out = {k: [] for k in ("rows", "last_step", "tokens", "diverged", "reason")}
    flags = []
    for j, run in enumerate(names):
        lo, hi = starts[j], ends[j]
        out["rows"].append(hi - lo)
        out["last_step"].append(int(step[hi - 1]))
        seg_tokens = tokens[lo:hi][np.isfinite(tokens[lo:hi])]
        out["tokens"].append(float(seg_tokens[-1]) if seg_tokens.size else np.nan)
        reasons, notes = [], [by_run.at[run, "flags"]] if by_run.at[run, "flags"] else []
        for name, values in (("loss", loss[lo:hi]), ("eval_loss", eval_loss[lo:hi])):
            bad = np.flatnonzero(values == NONFINITE)
            if bad.size:
                reasons.append(f"{name} not finite at step {int(step[lo + bad[0]])}")
        evaluated = bool(np.isfinite(eval_loss[lo:hi]).any())  # the run's checks use its eval loss if logged
        metric = eval_loss[lo:hi] if evaluated else loss[lo:hi]
        finite = metric[np.isfinite(metric)]
        if finite.size >= 3:
            best = float(finite.min())
            final = float(np.median(finite[-3:]))
            if final > diverge_factor * best:
                reasons.append(f"loss rose from {best:.4g} to {final:.4g}")
        key = by_run.at[run, "eval_loss_key" if evaluated else "loss_key"]
        if key and is_bits(key):
            notes.append(f"{key!r} is in bits, not nats")
        if np.count_nonzero(finite > _PER_SEQUENCE) > finite.size / 2:  # the median is above it
            notes.append(f"median loss {np.median(finite):.3g} nats: a per-sequence sum, not per token?")
        out["diverged"].append(bool(reasons))
        out["reason"].append("; ".join(reasons))
        flags.append("; ".join(n for n in notes if n))
    info = info.set_index("run").loc[names].reset_index()
    for k, v in out.items():
        info[k] = v
    info["flags"] = flags
    front = ["run", "format", "source", "rows", "last_step", "tokens", "N", "N_embed", "N_total", "N_source",
             "batch_size", "seq_len", "tokens_per_step", "tokens_source", "loss_key", "eval_loss_key", "lr_key",
             "tokens_key", "diverged", "reason", "flags"]
    return info[front + [c for c in info.columns if c not in front]]


def _clean(curves: pd.DataFrame) -> pd.DataFrame:
    """Non-finite markers become NaN (the runs table says which runs had them); columns in their order, each
    an array the user may change in place (pandas hands out read-only views of the logs' columns)."""
    out = {}
    for column in CURVES_COLUMNS:
        if column == "run":
            out[column] = curves[column].reset_index(drop=True)
            continue
        values = curves[column].to_numpy()
        if column in ROLES and values.size and np.isinf([np.fmin.reduce(values), np.fmax.reduce(values)]).any():
            values = np.where(np.isinf(values), np.nan, values)
        out[column] = writeable(values)
    return pd.DataFrame(out, copy=False)
