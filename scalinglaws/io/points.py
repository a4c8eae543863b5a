"""Points (one row per run) from loss curves: final, smoothed final, best, or at given token counts.

Which loss (``metric``): ``"eval"`` (the evaluation loss), ``"train"`` (the training loss), or ``"auto"``: the
evaluation loss for runs that logged one, else the training loss (the ``metric`` column says which).

How (``how``), with D the tokens seen at the step the value belongs to:

``final``
    the last logged value.
``ema``
    an exponential moving average over a window of ``ema`` **steps** (or tokens, ``ema_unit="tokens"``) before
    the last logged value, not over a number of logged values: each value logged within the window weighs
    (1-α)^Δ, α = 2/(ema + 1), Δ the steps (tokens) between it and the last value, normalised by the weights:
    Σ_j (1-α)^Δ_j x_j / Σ_j (1-α)^Δ_j. A loss logged every step gets the classic EMA of its last ``ema``
    values; sparse evaluations (every 1000 steps, with ``ema=10``) get their last value, never the step-0 one.
    D is the tokens at the last value.
``best``
    the lowest logged value (best evaluation loss) and the tokens at its step.

``at_tokens=[T1, T2, ...]`` instead gives, for every run and every Tk it reached, the loss interpolated
linearly in log(tokens) between the logged values around Tk (D = Tk): intermediate checkpoints as points, e.g.
for IsoFLOP profiles. ``at_flops=[C1, ...]`` does the same at Tk = Ck / (6·N) for each run. A run that did not
reach a token count gives no point there (counted in ``attrs["not_reached"]``).

No point is given unmarked at D = 0 or from a stale evaluation: with ``metric="auto"``, a run whose only
evaluation is at step 0 (before any training) takes its training loss instead, and its ``note`` says so; a run
whose last evaluation lies in the first half of its steps keeps it (D is the tokens at that step) with a
``note``; a point at D = 0 (step 0) or with a loss of 0 or below (not a cross-entropy) is ``exclude``d with its
``reason``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..schema import FLOPS_PER_PARAM_TOKEN, parse_number

__all__ = ["points_from_curves"]

HOWS = ("final", "ema", "best")
METRICS = ("auto", "eval", "train")
EMA_UNITS = ("steps", "tokens")
#: An evaluation is stale when the run's last one is before this fraction of its last step.
STALE = 0.5


def _counts(values, name: str) -> list[float] | None:
    if values is None:
        return None
    if isinstance(values, (int, float, str)):
        values = [values]
    try:
        out = [parse_number(v) for v in values]
    except ValueError as err:
        raise InputError(f"{name}: {err}", hint="give positive numbers like 1e9 or 20B") from None
    if not out or any(not (v > 0 and np.isfinite(v)) for v in out):
        raise InputError(f"{name} must be positive numbers", hint="give positive numbers like 1e9 or 20B")
    return out


def _missing(points: pd.DataFrame, column: str, what: str, hint: str) -> None:
    bad = points.loc[~np.isfinite(points[column].to_numpy(dtype=float)), "run"].drop_duplicates().tolist()
    if bad:
        others = f" (and {len(bad) - 1} other runs)" if len(bad) > 1 else ""
        raise InputError(f"run {bad[0]!r}{others} has no {what}", hint=hint)


def _ema(values: np.ndarray, x: np.ndarray, window: float) -> float:
    """The exponential average of ``values`` over the ``window`` before the last ``x`` (steps or tokens)."""
    delta = x[-1] - x
    inside = np.isfinite(delta) & (delta < window) & (delta >= 0)
    inside[-1] = True
    if window <= 1:
        return float(values[-1])
    weights = np.exp(delta[inside] * np.log1p(-2.0 / (window + 1)))
    return float(np.dot(weights, values[inside]) / weights.sum())


def points_from_curves(curves: pd.DataFrame, runs: pd.DataFrame | None = None, *, how: str = "final",
                       metric: str = "auto", ema: float = 10, ema_unit: str = "steps", at_tokens=None,
                       at_flops=None, include_diverged: bool = False, require=("N", "D")) -> pd.DataFrame:
    """Points from a curves table (``run, step, tokens, loss, eval_loss``) and a runs table (``run, N``, ...).

    See the module docstring for ``how``, ``metric``, ``ema`` (a window in ``ema_unit``: steps or tokens),
    ``at_tokens`` and ``at_flops``. Runs flagged ``diverged`` in ``runs`` get ``exclude=True`` and their
    ``reason`` (fits leave them out and say so), unless ``include_diverged``. ``require`` names columns every
    point must have (a clear error names the first run without: add it to ``runs.csv``).

    >>> curves = pd.DataFrame({"run": "a", "step": [1, 2, 3], "tokens": [1e9, 2e9, 3e9],
    ...                        "loss": [4.0, 3.5, 3.2], "eval_loss": [np.nan, np.nan, 3.3]})
    >>> runs = pd.DataFrame({"run": ["a"], "N": [1e8], "diverged": [False], "reason": [""]})
    >>> points_from_curves(curves, runs)[["run", "N", "D", "loss", "metric"]].to_dict("records")
    [{'run': 'a', 'N': 100000000.0, 'D': 3000000000.0, 'loss': 3.3, 'metric': 'eval_loss'}]
    """
    if how not in HOWS:
        raise InputError(f"how must be one of {', '.join(HOWS)}, not {how!r}")
    if metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if ema_unit not in EMA_UNITS:
        raise InputError(f"ema_unit must be one of {', '.join(EMA_UNITS)}, not {ema_unit!r}")
    if isinstance(ema, bool) or not (isinstance(ema, (int, float, np.integer, np.floating)) and ema > 0
                                     and np.isfinite(ema)):
        raise InputError(f"ema must be a positive window of {ema_unit}, not {ema!r}")
    at_tokens, at_flops = _counts(at_tokens, "at_tokens"), _counts(at_flops, "at_flops")
    if at_tokens and at_flops:
        raise InputError("give at_tokens or at_flops, not both")
    info = (runs if runs is not None else pd.DataFrame({"run": pd.unique(curves["run"])})).set_index("run")
    rows, not_reached = [], 0
    for run, group in curves.groupby("run", sort=False):
        n = float(info.at[run, "N"]) if "N" in info and run in info.index else np.nan
        column, note = _metric_of(group, metric)
        part = group.loc[group[column].notna(), ["step", "tokens", column]]
        if part.empty:
            rows.append({"run": run, "N": n, "D": np.nan, "loss": np.nan, "step": np.nan, "metric": column,
                         "note": note})
            continue
        values, tokens, steps = (part[column].to_numpy(float), part["tokens"].to_numpy(float),
                                 part["step"].to_numpy())
        if at_tokens or at_flops:
            targets = at_tokens or [c / (FLOPS_PER_PARAM_TOKEN * n) if n > 0 else np.nan for c in at_flops]
            ok = np.isfinite(tokens) & (tokens > 0) & (values > 0)
            for k, target in enumerate(targets):
                if ok.sum() < 1 or not (tokens[ok].min() <= target <= tokens[ok].max()):
                    not_reached += 1
                    continue
                loss = float(np.exp(np.interp(np.log(target), np.log(tokens[ok]), np.log(values[ok]))))
                row = {"run": run, "N": n, "D": target, "loss": loss,
                       "step": float(np.interp(target, tokens[ok], steps[ok])), "metric": column, "note": note}
                row["at_tokens" if at_tokens else "at_flops"] = (at_tokens or at_flops)[k]
                rows.append(row)
            continue
        if how == "best":
            i = int(np.argmin(values))
            value = values[i]
        else:
            i = len(values) - 1
            if how == "ema":
                value = _ema(values, steps.astype(float) if ema_unit == "steps" else tokens, float(ema))
            else:
                value = values[i]
        rows.append({"run": run, "N": n, "D": tokens[i], "loss": float(value), "step": int(steps[i]),
                     "metric": column, "note": note})
    points = pd.DataFrame(rows)
    if points.empty:
        raise InputError("no run reached the token counts asked for" if (at_tokens or at_flops)
                         else "no run has loss values", hint="check the ingested runs with 'scalinglaws ingest'")
    diverged = points["run"].map(info["diverged"]) if "diverged" in info else pd.Series(False, index=points.index)
    diverged = diverged.fillna(False).astype(bool).to_numpy()
    reasons = np.where(diverged, points["run"].map(info["reason"]).fillna("").to_numpy() if "reason" in info else "",
                       "").astype(object)
    unusable = np.zeros(len(points), dtype=bool)
    for j, row in enumerate(points.itertuples()):
        why = []
        if np.isfinite(row.loss) and row.loss <= 0:
            why.append(f"loss {row.loss:g} <= 0: not a cross-entropy in nats")
        if np.isfinite(row.D) and row.D <= 0:
            why.append("D = 0: the point is at step 0, before any training")
        if why:
            unusable[j] = True
            reasons[j] = "; ".join([r for r in (reasons[j],) if r] + why)
    checked = points.loc[~unusable]
    _missing(checked, "loss", f"{'evaluation' if metric == 'eval' else 'training'} loss values",
             "it logged only a training loss: use --metric train or auto" if metric == "eval" else
             "choose another --metric, or check the run's log")
    if "N" in require:
        _missing(checked, "N", "parameter count N", "add it to a runs.csv (columns run,N; found in the ingested "
                 "folder or given with --runs), or put the model's config.json next to its log")
    if "D" in require:
        _missing(checked, "D", "token counts", "log them, or give batch_size and seq_len in runs.csv "
                 "(tokens = step x batch_size x seq_len)")
    points["C"] = FLOPS_PER_PARAM_TOKEN * points["N"] * points["D"]
    points["how"] = "at_tokens" if at_tokens else "at_flops" if at_flops else how
    points["exclude"] = (diverged & (not include_diverged)) | unusable
    points["reason"] = reasons
    for column in ("format", "source"):
        if column in info:
            points[column] = points["run"].map(info[column])
    points["note"] = points["note"].fillna("")
    points.attrs["not_reached"] = not_reached
    order = ["run", "N", "D", "C", "loss", "step", "metric", "how", "exclude", "reason", "note"]
    return points[order + [c for c in points.columns if c not in order]]


def _metric_of(group: pd.DataFrame, metric: str) -> tuple[str, str]:
    """The column a run's point takes, and a note when the choice was not the plain one."""
    if metric == "train":
        return "loss", ""
    evaluated = group["eval_loss"].notna().to_numpy()
    if metric == "eval" and not evaluated.any():
        return "eval_loss", ""
    if not evaluated.any():
        return "loss", ""
    steps = group["step"].to_numpy()
    last_eval = int(steps[evaluated].max())
    trained = group["loss"].notna().to_numpy()
    last = int(steps.max())
    stale = last_eval < STALE * last
    if not stale:
        return "eval_loss", ""
    where = "its only evaluations are at step 0" if last_eval == 0 else f"its last evaluation is at step {last_eval}"
    if metric == "auto" and last_eval == 0 and trained.any() and steps[trained].max() > 0:
        return "loss", f"{where} of {last}: the training loss is used"
    return "eval_loss", f"{where} of {last}: the point is from then"
