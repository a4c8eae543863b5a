"""How far beyond the fitted data a target lies: one definition, used by every forecast, plan, plot and warning.

* ``beyond_C`` (the extrapolation distance): the target's training compute over the **largest compute of the
  fitted runs**, C_target / max C_fit. C is the law's ``C`` input when it has one, else 6·N·D (the points
  table's own convention) for laws of N and D. Below 1 the target is inside the compute range. NaN for laws
  without a compute (e.g. Kaplan's L(N, S_min), curve laws).
* ``beyond_<input>`` for each input of the law (``beyond_N``, ``beyond_D``, ...): how far the target lies outside
  the fitted range of that input, max(x/max x_fit, min x_fit/x): 1 inside the range, 10 a decade outside on
  either side.
* ``distance`` (e-folds, what the model error of a band grows with): the log of the largest of these ratios,
  the compute's taken on both sides too; 0 inside the fitted box, so a target beyond the data in any direction
  counts.
* Curve laws (:func:`curve_distance`): the distance in steps, regime-aware. ``beyond_step`` is the target's step
  over the largest fitted step; ``beyond_step_regime`` the same over the largest fitted step among the
  observations at least as annealed as the target (learning-rate share of peak ≤ the target's + 0.1): a long
  cooldown predicted from short ones lies beyond the data even when a constant-LR run was longer. ``distance``
  is the log of the larger.

:class:`~scalinglaws.exceptions.ExtrapolationWarning` fires on ``beyond_C`` (on the largest per-input ratio for
laws without a compute) above ``warn_beyond`` (10 by default).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import ExtrapolationWarning, warn
from ..schema import FLOPS_PER_PARAM_TOKEN

__all__ = ["fitted_compute", "target_compute", "beyond_data", "distance", "curve_distance", "warn_extrapolation",
           "WARN_BEYOND", "LR_TOLERANCE"]

#: Extrapolation distance (C over the largest fitted C) above which forecasts warn.
WARN_BEYOND = 10.0
#: Curve laws: fitted observations are in a target's learning-rate regime when their share of the peak learning rate
#: is at most the target's + this (two states within 10 % of peak count as one regime).
LR_TOLERANCE = 0.1


def _compute_of(columns: Mapping[str, np.ndarray]) -> np.ndarray | None:
    if "C" in columns:
        return np.asarray(columns["C"], dtype=float)
    if "N" in columns and "D" in columns:
        return FLOPS_PER_PARAM_TOKEN * np.asarray(columns["N"], dtype=float) * np.asarray(columns["D"], dtype=float)
    return None


def fitted_compute(fit) -> np.ndarray | None:
    """The training compute of every fitted run (FLOPs), or None when the law has no compute."""
    return _compute_of(fit.inputs)


def target_compute(X: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """The training compute of forecast targets (FLOPs), or None when their inputs give none."""
    return _compute_of(X)


def _ratios(fitted: Mapping[str, np.ndarray], X: Mapping[str, np.ndarray], C=None) -> tuple[dict, np.ndarray | None]:
    """Per-input out-of-range ratios of targets ``X`` against the ``fitted`` inputs, and the compute ratios
    (C over the largest fitted C; None without a compute)."""
    n = len(next(iter(X.values()))) if X else 0
    out = {}
    for name, values in X.items():
        if name not in fitted or name == "run_index":
            continue
        data = np.asarray(fitted[name], dtype=float)
        v = np.asarray(values, dtype=float)
        if data.size == 0 or not np.min(data) > 0:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.maximum(1.0, np.maximum(v / data.max(), data.min() / v))
    compute_fit = _compute_of(fitted)
    target = np.asarray(C, dtype=float) if C is not None else _compute_of(X)
    compute = None
    if compute_fit is not None and target is not None:
        compute = (np.broadcast_to(target, (n,)), compute_fit)
    return out, compute


def beyond_data(fit, X: Mapping[str, np.ndarray], C=None) -> pd.DataFrame:
    """``beyond_C``, ``beyond_<input>`` and ``distance`` for every target (see the module docstring).

    ``X`` holds the targets' inputs (arrays of one length); ``C`` their compute when it is not 6·N·D (e.g. the
    training part of a budget that also pays for inference).
    """
    n = len(next(iter(X.values()))) if X else 0
    per_input, compute = _ratios(fit.inputs, X, C)
    table = {"beyond_C": compute[0] / float(np.max(compute[1])) if compute is not None else np.full(n, np.nan)}
    table.update({f"beyond_{k}": v for k, v in per_input.items()})
    return pd.DataFrame({**table, "distance": distance(fit.inputs, X, C)})


def distance(fitted: Mapping[str, np.ndarray], X: Mapping[str, np.ndarray], C=None) -> np.ndarray:
    """The e-folds a band's model error grows with: log of the largest out-of-range ratio over the inputs and the
    compute (0 inside the fitted box)."""
    n = len(next(iter(X.values()))) if X else 0
    per_input, compute = _ratios(fitted, X, C)
    ratios = list(per_input.values())
    if compute is not None:
        target, data = compute
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(np.maximum(1.0, np.maximum(target / data.max(), data.min() / target)))
    if not ratios:
        return np.zeros(n)
    return np.log(np.max(np.vstack(ratios), axis=0))


def _lr_share(law, X: Mapping[str, np.ndarray]) -> np.ndarray:
    """Each observation's learning rate as a share of its schedule's peak."""
    peaks = np.array([float(np.max(s.lr)) for s in law.schedules.schedules])
    return law.learning_rate(X) / peaks[np.asarray(X["run_index"]).astype(int)]


def curve_distance(fitted_law, fitted: Mapping[str, np.ndarray], target_law, X: Mapping[str, np.ndarray],
                   tolerance: float = LR_TOLERANCE) -> pd.DataFrame:
    """``beyond_step``, ``beyond_step_regime`` and ``distance`` of curve targets ``X`` (run_index, step along
    ``target_law``'s schedules) against the observations ``fitted`` (along ``fitted_law``'s).

    The regime reference of a target is the fitted observations at least as annealed as it: a learning-rate share
    of peak ≤ max(the target's, the smallest fitted share) + ``tolerance``.
    """
    share_fit = _lr_share(fitted_law, fitted)
    step_fit = np.asarray(fitted["step"], dtype=float)
    share = _lr_share(target_law, X)
    step = np.asarray(X["step"], dtype=float)
    with np.errstate(divide="ignore"):
        step_d = np.clip(np.log(np.maximum(step, 1.0) / step_fit.max()), 0, None)
    order = np.argsort(share_fit, kind="stable")
    shares, reach = share_fit[order], np.maximum.accumulate(step_fit[order])
    threshold = np.maximum(share, shares[0]) + tolerance
    k = np.searchsorted(shares, threshold, side="right")  # >= 1 by construction
    with np.errstate(divide="ignore"):
        regime = np.clip(np.log(np.maximum(step, 1.0) / reach[k - 1]), 0, None)
    return pd.DataFrame({"beyond_step": np.exp(step_d), "beyond_step_regime": np.exp(regime),
                         "distance": np.maximum(step_d, regime)})


def judged(table: pd.DataFrame) -> np.ndarray:
    """The distance a warning judges: ``beyond_C``, or the largest per-input ratio where there is no compute."""
    if "beyond_C" in table and np.isfinite(table["beyond_C"]).any():
        return table["beyond_C"].to_numpy(dtype=float)
    per_input = [c for c in table.columns if c.startswith("beyond_") and c != "beyond_C"]
    return table[per_input].max(axis=1).to_numpy(dtype=float) if per_input else np.ones(len(table))


def warn_extrapolation(fit, table: pd.DataFrame, warn_beyond: float = WARN_BEYOND, what: str = "forecast") -> str | None:
    """Emit (and return) an :class:`ExtrapolationWarning` when a target (a ``what``: forecast, budget) lies more
    than ``warn_beyond`` beyond the fitted data; ``table`` has the columns of :func:`beyond_data`."""
    d = judged(table)
    far = np.flatnonzero(d > warn_beyond)
    if not far.size:
        return _warn_below(fit, table, warn_beyond, what)
    i = far[np.argmax(d[far])]
    if "beyond_C" in table and np.isfinite(table["beyond_C"].iloc[i]):
        text = (f"{what} at {d[i]:.3g}x the largest fitted compute ({float(np.max(fitted_compute(fit))):.3g} "
                "FLOPs)")
    else:
        text = f"{what} {d[i]:.3g}x outside the fitted range of its inputs"
    parts = [f"{c[7:]} {table[c].iloc[i]:.3g}x" for c in table.columns
             if c.startswith("beyond_") and c != "beyond_C" and table[c].iloc[i] > 1.0001]
    message = text + (f" ({', '.join(parts)} outside its fitted range)" if parts else "") + (
        f"; {far.size} {what}s beyond {warn_beyond:g}x" if far.size > 1 else "")
    below = _warn_below(fit, table, warn_beyond, what, emit=False)
    if below:
        message += f"; {below}"
    warn(message, ExtrapolationWarning)
    return message


def _warn_below(fit, table: pd.DataFrame, warn_beyond: float, what: str, emit: bool = True) -> str | None:
    """The message (emitted as an :class:`ExtrapolationWarning` with ``emit``) for targets far *below* the fitted
    data (a budget of 1 FLOP, a model of 0.01 parameters), where the law says nothing meaningful."""
    if "distance" not in table or not len(table):
        return None
    ratio = np.exp(table["distance"].to_numpy(dtype=float))
    small = np.flatnonzero((judged(table) < 1) & (ratio > warn_beyond))
    if not small.size:
        return None
    i = small[np.argmax(ratio[small])]
    fitted = fitted_compute(fit)
    if "beyond_C" in table and np.isfinite(table["beyond_C"].iloc[i]) and fitted is not None:
        text = (f"{what} at {table['beyond_C'].iloc[i]:.3g}x the largest fitted compute, {ratio[i]:.3g}x below the "
                f"smallest ({float(np.min(fitted)):.3g} FLOPs)")
    else:
        text = f"{what} {ratio[i]:.3g}x below the fitted range of its inputs"
    message = (text + ": far outside anything the fit knows, its numbers there are meaningless"
               + (f"; {small.size} {what}s that far below" if small.size > 1 else ""))
    if emit:
        warn(message, ExtrapolationWarning)
    return message
