"""Points (one row per run) from loss curves: final, smoothed final, best, or at given token counts.

Which loss (``metric``): ``"eval"`` (the evaluation loss), ``"train"`` (the training loss), or ``"auto"``: the
evaluation loss for runs that logged one, else the training loss (the ``metric`` column says which).

How (``how``), with D the tokens seen at the step the value belongs to:

``final``
    the last logged value.
``ema``
    an exponential moving average of the last ``ema`` logged values with α = 2/(ema + 1), weighting the
    latest most and normalised by its weights: Σ_j (1-α)^j x_{n-j} / Σ_j (1-α)^j, j = 0 … ema-1. It takes the
    noise out of a training loss logged every few steps; D is the tokens at the last value.
``best``
    the lowest logged value (best evaluation loss) and the tokens at its step.

``at_tokens=[T1, T2, ...]`` instead gives, for every run and every Tk it reached, the loss interpolated
linearly in log(tokens) between the logged values around Tk (D = Tk): intermediate checkpoints as points, e.g.
for IsoFLOP profiles. ``at_flops=[C1, ...]`` does the same at Tk = Ck / (6·N) for each run. A run that did not
reach a token count gives no point there (counted in ``attrs["not_reached"]``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..schema import FLOPS_PER_PARAM_TOKEN, parse_number

__all__ = ["points_from_curves"]

HOWS = ("final", "ema", "best")
METRICS = ("auto", "eval", "train")


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


def points_from_curves(curves: pd.DataFrame, runs: pd.DataFrame | None = None, *, how: str = "final",
                       metric: str = "auto", ema: int = 10, at_tokens=None, at_flops=None,
                       include_diverged: bool = False, require=("N", "D")) -> pd.DataFrame:
    """Points from a curves table (``run, step, tokens, loss, eval_loss``) and a runs table (``run, N``, ...).

    See the module docstring for ``how``, ``metric``, ``ema``, ``at_tokens`` and ``at_flops``. Runs flagged
    ``diverged`` in ``runs`` get ``exclude=True`` and their ``reason`` (fits leave them out and say so), unless
    ``include_diverged``. ``require`` names columns every point must have (a clear error names the first run
    without: add it to ``runs.csv``).

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
    if not (isinstance(ema, (int, np.integer)) and ema >= 1):
        raise InputError(f"ema must be a whole number of logged values >= 1, not {ema!r}")
    at_tokens, at_flops = _counts(at_tokens, "at_tokens"), _counts(at_flops, "at_flops")
    if at_tokens and at_flops:
        raise InputError("give at_tokens or at_flops, not both")
    info = (runs if runs is not None else pd.DataFrame({"run": pd.unique(curves["run"])})).set_index("run")
    rows, not_reached = [], 0
    for run, group in curves.groupby("run", sort=False):
        n = float(info.at[run, "N"]) if "N" in info and run in info.index else np.nan
        use_eval = metric == "eval" or (metric == "auto" and group["eval_loss"].notna().any())
        column = "eval_loss" if use_eval else "loss"
        part = group.loc[group[column].notna(), ["step", "tokens", column]]
        if part.empty:
            rows.append({"run": run, "N": n, "D": np.nan, "loss": np.nan, "step": np.nan, "metric": column})
            continue
        values, tokens, steps = (part[column].to_numpy(float), part["tokens"].to_numpy(float),
                                 part["step"].to_numpy())
        if at_tokens or at_flops:
            targets = at_tokens or [c / (FLOPS_PER_PARAM_TOKEN * n) if n > 0 else np.nan for c in at_flops]
            ok = np.isfinite(tokens) & (tokens > 0)
            for k, target in enumerate(targets):
                if ok.sum() < 1 or not (tokens[ok].min() <= target <= tokens[ok].max()):
                    not_reached += 1
                    continue
                loss = float(np.exp(np.interp(np.log(target), np.log(tokens[ok]), np.log(values[ok]))))
                row = {"run": run, "N": n, "D": target, "loss": loss,
                       "step": float(np.interp(target, tokens[ok], steps[ok])), "metric": column}
                row["at_tokens" if at_tokens else "at_flops"] = (at_tokens or at_flops)[k]
                rows.append(row)
            continue
        if how == "best":
            i = int(np.argmin(values))
            value = values[i]
        else:
            i = len(values) - 1
            if how == "ema":
                k = min(ema, len(values))
                weights = (1 - 2 / (ema + 1)) ** np.arange(k)
                value = float(np.dot(weights, values[::-1][:k]) / weights.sum())
            else:
                value = values[i]
        rows.append({"run": run, "N": n, "D": tokens[i], "loss": float(value), "step": int(steps[i]),
                     "metric": column})
    points = pd.DataFrame(rows)
    if points.empty:
        raise InputError("no run reached the token counts asked for" if (at_tokens or at_flops)
                         else "no run has loss values", hint="check the ingested runs with 'scalinglaws ingest'")
    if "N" in require:
        _missing(points, "N", "parameter count N", "add it to a runs.csv (columns run,N; found in the ingested "
                 "folder or given with --runs), or put the model's config.json next to its log")
    if "D" in require:
        _missing(points, "D", "token counts", "log them, or give batch_size and seq_len in runs.csv "
                 "(tokens = step x batch_size x seq_len)")
    _missing(points, "loss", f"{'evaluation' if metric == 'eval' else 'training'} loss values",
             "choose another --metric, or check the run's log")
    points["C"] = FLOPS_PER_PARAM_TOKEN * points["N"] * points["D"]
    points["how"] = "at_tokens" if at_tokens else "at_flops" if at_flops else how
    diverged = points["run"].map(info["diverged"]) if "diverged" in info else pd.Series(False, index=points.index)
    diverged = diverged.fillna(False).astype(bool)
    points["exclude"] = diverged.to_numpy() & (not include_diverged)
    points["reason"] = np.where(diverged, points["run"].map(info["reason"]) if "reason" in info else "", "")
    for column in ("format", "source"):
        if column in info:
            points[column] = points["run"].map(info[column])
    points.attrs["not_reached"] = not_reached
    order = ["run", "N", "D", "C", "loss", "step", "metric", "how", "exclude", "reason"]
    return points[order + [c for c in points.columns if c not in order]]
