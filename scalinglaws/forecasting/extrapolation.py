"""How far beyond the fitted data a target lies: one definition, used by every forecast, plan, plot and warning.

* ``beyond_C`` (the extrapolation distance): the target's training compute over the **largest compute of the
  fitted runs**, C_target / max C_fit. C is the law's ``C`` input when it has one, else 6·N·D (the points
  table's own convention) for laws of N and D. Below 1 the target is inside the compute range. NaN for laws
  without a compute (e.g. Kaplan's L(N, S_min), curve laws).
* ``beyond_<input>`` for each input of the law (``beyond_N``, ``beyond_D``, ...): how far the target lies outside
  the fitted range of that input, max(x/max x_fit, min x_fit/x): 1 inside the range, 10 a decade outside on
  either side.

:class:`~scalinglaws.exceptions.ExtrapolationWarning` fires on ``beyond_C`` (on the largest per-input ratio for
laws without a compute) above ``warn_beyond`` (10 by default).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import ExtrapolationWarning, warn
from ..schema import FLOPS_PER_PARAM_TOKEN

__all__ = ["fitted_compute", "target_compute", "beyond_data", "distance", "warn_extrapolation", "WARN_BEYOND"]

#: Extrapolation distance (C over the largest fitted C) above which forecasts warn.
WARN_BEYOND = 10.0


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


def beyond_data(fit, X: Mapping[str, np.ndarray], C=None) -> pd.DataFrame:
    """``beyond_C`` and ``beyond_<input>`` for every target (see the module docstring).

    ``X`` holds the targets' inputs (arrays of one length); ``C`` their compute when it is not 6·N·D (e.g. a
    budget with inference FLOPs: the training part is the one that counts).
    """
    n = len(next(iter(X.values()))) if X else 0
    out = {}
    fitted = fitted_compute(fit)
    target = np.asarray(C, dtype=float) if C is not None else target_compute(X)
    out["beyond_C"] = (np.broadcast_to(target, (n,)) / float(np.max(fitted))
                       if fitted is not None and target is not None else np.full(n, np.nan))
    for name, values in X.items():
        if name not in fit.inputs or name == "run_index":
            continue
        data = np.asarray(fit.inputs[name], dtype=float)
        v = np.asarray(values, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"beyond_{name}"] = np.maximum(1.0, np.maximum(v / data.max(), data.min() / v))
    return pd.DataFrame(out)


def distance(table: pd.DataFrame) -> np.ndarray:
    """The distance a warning judges: ``beyond_C``, or the largest per-input ratio where there is no compute."""
    if "beyond_C" in table and np.isfinite(table["beyond_C"]).any():
        return table["beyond_C"].to_numpy(dtype=float)
    per_input = [c for c in table.columns if c.startswith("beyond_") and c != "beyond_C"]
    return table[per_input].max(axis=1).to_numpy(dtype=float) if per_input else np.ones(len(table))


def warn_extrapolation(fit, table: pd.DataFrame, warn_beyond: float = WARN_BEYOND, what: str = "forecast") -> str | None:
    """Emit (and return) an :class:`ExtrapolationWarning` when a target (a ``what``: forecast, budget) lies more
    than ``warn_beyond`` beyond the fitted data; ``table`` has the columns of :func:`beyond_data`."""
    d = distance(table)
    far = np.flatnonzero(d > warn_beyond)
    if not far.size:
        return None
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
    warn(message, ExtrapolationWarning)
    return message
