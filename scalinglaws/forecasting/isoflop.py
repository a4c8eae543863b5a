"""IsoFLOP analysis (Hoffmann et al.'s "approach 2") directly from a points table.

For every compute budget (runs with the same C) the loss is fitted as a function of log N, its minimum
N*(C) read off, and log N* regressed on log C: N_opt ∝ C^a. The same is done in log D for D_opt ∝ C^b.

Two ways to find each budget's minimum:

* ``"parabola"`` (default): a parabola in log N through the ``window`` runs around the lowest loss
  (``window=None``: every run of the budget, Hoffmann's original). Sampling far from the optimum biases a
  global parabola, because loss is not quadratic in log N far from the minimum; a local window avoids it.
  Budgets whose parabola opens downwards (c2 <= 0) or whose vertex lies outside the sampled N are dropped
  and reported.
* ``"interpolate"``: a smooth (Akima) interpolation of log loss against log N, minimised on a fine grid,
  as Porian et al. (2024) do; budgets whose minimum is at an end of the sampled range are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ScalingLawsError
from ..schema import points_table
from .powerfit import PowerFit, fit_power_law

__all__ = ["IsoflopResult", "isoflop_analysis"]

METHODS = ("parabola", "interpolate")


@dataclass(frozen=True, eq=False)
class IsoflopResult:
    """Per-budget minima and the power laws through them.

    ``budgets``: one row per budget: C, runs, N_opt, D_opt, loss_opt, curvature (c2 of the parabola in log N,
    NaN for interpolation), used (whether the budget's minimum entered the power laws) and why not.
    ``n_fit``/``d_fit``: N_opt = a·C^exponent and D_opt likewise. ``points`` keeps the runs for plotting.
    """

    budgets: pd.DataFrame
    n_fit: PowerFit
    d_fit: PowerFit
    method: str
    window: int | None
    points: pd.DataFrame

    def summary(self) -> str:
        used = int(self.budgets["used"].sum())
        lines = [f"IsoFLOP analysis ({self.method}{'' if self.window is None or self.method != 'parabola' else f', {self.window} runs around each minimum'}): "
                 f"{used} of {len(self.budgets)} budgets used",
                 "  " + self.n_fit.describe("N_opt"), "  " + self.d_fit.describe("D_opt")]
        for row in self.budgets.itertuples():
            note = "" if row.used else f"  (dropped: {row.reason})"
            lines.append(f"  C = {row.C:9.3g}: {row.runs:3d} runs, N* = {row.N_opt:9.3g}, D* = {row.D_opt:9.3g}, "
                         f"loss {row.loss_opt:.4f}{note}")
        return "\n".join(lines)


    def power_laws(self) -> pd.DataFrame:
        """The two power laws N_opt = a·C^b and D_opt = a'·C^b' as a table."""
        return pd.DataFrame([{"quantity": q, "coefficient": f.coefficient, "exponent": f.exponent,
                              "exponent_stderr": f.stderr.get("C", np.nan), "budgets": f.n}
                             for q, f in (("N_opt", self.n_fit), ("D_opt", self.d_fit))])

    def tables(self) -> dict[str, pd.DataFrame]:
        """``budgets`` (one row per budget) and ``power_laws``."""
        return {"budgets": self.budgets, "power_laws": self.power_laws()}


def _minimum(x: np.ndarray, loss: np.ndarray, method: str, window: int | None) -> tuple[float, float, float, str]:
    """(x*, loss at x*, curvature, reason-if-rejected) for one budget, x = log N or log D sorted."""
    if method == "interpolate":
        fine = np.linspace(x[0], x[-1], (x.size - 1) * 25)
        from scipy.interpolate import Akima1DInterpolator
        curve = Akima1DInterpolator(x, np.log(loss))(fine)
        i = int(np.argmin(curve))
        reason = "" if 0 < i < fine.size - 1 else "minimum at the edge of the sampled range"
        return fine[i], float(np.exp(curve[i])), np.nan, reason
    if window is not None and x.size > window:
        lo = int(np.clip(np.argmin(loss) - window // 2, 0, x.size - window))
        x, loss = x[lo : lo + window], loss[lo : lo + window]
    c2, c1, c0 = np.polyfit(x, loss, 2)
    if c2 <= 0:
        return np.nan, np.nan, c2, "the parabola opens downwards"
    vertex = -c1 / (2 * c2)
    reason = "" if x[0] <= vertex <= x[-1] else "vertex outside the sampled range"
    return vertex, c0 - c1**2 / (4 * c2), c2, reason


def isoflop_analysis(data, *, method: str = "parabola", window: int | None = 5, min_runs: int = 3,
                     columns=None) -> IsoflopResult:
    """IsoFLOP approach 2 on a points table (N, D, C, loss) grouped by compute budget C.

    ``columns`` maps canonical names to the table's (e.g. ``{"C": "budget_flops"}`` when C is a sweep's
    nominal budget). Budgets with fewer than ``min_runs`` model sizes are dropped; where several runs share a
    model size and budget (e.g. a hyperparameter sweep) the lowest loss is used.

    Example: ``isoflop_analysis("sweep.csv", columns={"C": "budget_flops"}).n_fit.exponent``.
    """
    if method not in METHODS:
        raise ScalingLawsError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if window is not None and window < 3:
        raise ScalingLawsError(f"a parabola needs a window of at least 3 runs, got {window}")
    table = points_table(data, columns=columns, require=("N", "D", "C"))
    if "exclude" in table:
        table = table.loc[~table["exclude"].to_numpy(dtype=bool)]
    budget_key = np.round(np.log(table["C"].to_numpy()), 6)
    rows = []
    for key in np.unique(budget_key):
        group = table.loc[budget_key == key]
        C = float(group["C"].iloc[0])
        best = group.groupby("N", as_index=False).agg(D=("D", "first"), loss=("loss", "min")).sort_values("N")
        row = {"C": C, "runs": len(best)}
        if len(best) < min_runs:
            rows.append({**row, "N_opt": np.nan, "D_opt": np.nan, "loss_opt": np.nan, "curvature": np.nan,
                         "used": False, "reason": f"fewer than {min_runs} model sizes"})
            continue
        xn, loss_opt, c2, why_n = _minimum(np.log(best["N"].to_numpy()), best["loss"].to_numpy(), method, window)
        by_d = best.sort_values("D")
        xd, _, _, why_d = _minimum(np.log(by_d["D"].to_numpy()), by_d["loss"].to_numpy(), method, window)
        reason = why_n or why_d
        rows.append({**row, "N_opt": float(np.exp(xn)), "D_opt": float(np.exp(xd)), "loss_opt": loss_opt,
                     "curvature": c2, "used": not reason, "reason": reason})
    budgets = pd.DataFrame(rows)
    used = budgets[budgets["used"]]
    if len(used) < 2:
        source = getattr(data, "attrs", {}).get("source") if hasattr(data, "attrs") else (
            str(data) if isinstance(data, (str, Path)) else None)
        why = budgets.loc[~budgets["used"], "reason"].value_counts()
        reasons = f" ({'; '.join(f'{n}: {reason}' for reason, n in why.items())})" if len(why) else ""
        raise ScalingLawsError(f"{source + ': ' if source else ''}only {len(used)} of {len(budgets)} budget"
                               f"{'' if len(budgets) == 1 else 's'} give a usable minimum{reasons}; IsoFLOP "
                               "analysis needs at least 2 (sample model sizes on both sides of "
                               "each budget's optimum)")
    return IsoflopResult(budgets=budgets, n_fit=fit_power_law(used["N_opt"], C=used["C"]),
                         d_fit=fit_power_law(used["D_opt"], C=used["C"]), method=method,
                         window=window if method == "parabola" else None, points=table)
