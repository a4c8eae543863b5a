"""Compute-optimal allocation: the model size N and token count D that minimise loss for a FLOP budget.

Training compute is modelled as C = k·N·D with k = 6 FLOPs per parameter per token by default.
Laws with a closed form (Chinchilla: N_opt = G·(C/k)^(β/(α+β)), G = (αA/(βB))^(1/(α+β))) use it; any
other law of (N, D) is minimised numerically along the constraint (bounded 1-D search in log N).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize_scalar

from ..exceptions import LawError, ScalingLawsError, ScalingLawsWarning, warn
from ..fitting.result import FitResult
from ..laws.base import Law
from ..laws.registry import get_law

__all__ = ["compute_optimal"]


def compute_optimal(fit: FitResult | Law | str, budgets, *, params: Mapping[str, float] | None = None,
                    flops_per_token: float = 6.0, method: str = "auto") -> pd.DataFrame:
    """Compute-optimal N, D, tokens per parameter and loss for each budget C (FLOPs).

    Parameters
    ----------
    fit : FitResult, Law or law name
        A fit of a law whose inputs are N (parameters) and D (tokens); or a law, with ``params``.
    budgets : float or array
        Training compute budgets C in FLOPs.
    params : mapping, optional
        Parameter values when ``fit`` is a law (e.g. published coefficients).
    flops_per_token : float
        k in C = k·N·D (6 by default: forward and backward pass).
    method : {"auto", "closed", "numeric"}
        ``auto`` uses the law's closed form when it has one.

    Returns a DataFrame with columns C, N_opt, D_opt, tokens_per_param, loss. Where a law has no interior
    optimum along C = k·N·D (it keeps improving toward an extreme N), the row is NaN and a warning says so.

    >>> epoch = dict(E=1.81686, A=482.006, B=2085.43, alpha=0.347813, beta=0.365854)
    >>> row = compute_optimal("chinchilla", 5.76e23, params=epoch).iloc[0]
    >>> f"{row.N_opt:.4g} {row.D_opt:.4g} {row.tokens_per_param:.4g}"
    '7.236e+10 1.327e+12 18.34'
    """
    if isinstance(fit, FitResult):
        law, values = fit.law, tuple(float(v) for v in fit.values)
    else:
        law = get_law(fit)
        if params is None:
            raise ScalingLawsError(f"give params=... with the values of {', '.join(law.param_names)}")
        values = tuple(float(v) for v in law.values_of(params))
    if set(law.inputs) != {"N", "D"}:
        raise LawError(f"compute-optimal allocation needs a law of N and D; '{law.name}' takes "
                       f"{', '.join(law.inputs)}")
    C = np.atleast_1d(np.asarray(budgets, dtype=float))
    if not np.all(np.isfinite(C)) or np.any(C <= 0):
        raise ScalingLawsError(f"compute budgets must be positive numbers of FLOPs, got {budgets!r}")
    if not flops_per_token > 0:
        raise ScalingLawsError(f"flops_per_token must be positive, got {flops_per_token}")
    if method not in ("auto", "closed", "numeric"):
        raise ScalingLawsError(f"method must be auto, closed or numeric, got {method!r}")
    closed = getattr(law, "compute_optimal", None)
    if method == "closed" and closed is None:
        raise LawError(f"law '{law.name}' has no closed-form allocation; use method='numeric'")
    if closed is not None and method != "numeric":
        n_opt, _ = closed(C, *values, flops_per_token=flops_per_token)
        n_opt = np.asarray(n_opt, dtype=float)
    else:
        n_opt = np.array([_numeric_n_opt(law, values, c, flops_per_token) for c in C])
    d_opt = C / (flops_per_token * n_opt)
    loss = np.asarray(law.evaluate({"N": n_opt, "D": d_opt}, *values), dtype=float)
    return pd.DataFrame({"C": C, "N_opt": n_opt, "D_opt": d_opt, "tokens_per_param": d_opt / n_opt, "loss": loss})


def _numeric_n_opt(law: Law, values: tuple, c: float, k: float) -> float:
    """argmin over N of L(N, C/(kN)): a bounded search in log N over √(C/k)·e^±14, then a root of dL/dlog N.

    The root of the slope along the constraint (central difference, step 1e-6 in log N) pins N_opt to
    ~1e-10 relative, where minimising the flat function alone stops near 1e-8.
    """
    center = 0.5 * np.log(c / k)

    def loss(log_n: float) -> float:
        n = np.exp(log_n)
        return float(law.evaluate({"N": np.array([n]), "D": np.array([c / (k * n)])}, *values)[0])

    def slope(log_n: float) -> float:
        n = np.exp(log_n)
        X = {"N": np.array([n]), "D": np.array([c / (k * n)])}
        h = 1e-6
        up = {"N": X["N"] * np.exp(h), "D": X["D"] * np.exp(-h)}
        down = {"N": X["N"] * np.exp(-h), "D": X["D"] * np.exp(h)}
        return float((law.evaluate(up, *values)[0] - law.evaluate(down, *values)[0]) / (2 * h))

    res = minimize_scalar(loss, bounds=(center - 14.0, center + 14.0), method="bounded",
                          options={"xatol": 1e-10, "maxiter": 500})
    if abs(res.x - center) > 13.9:
        warn(f"no interior compute optimum at C = {c:g}: the law keeps improving toward an extreme model size "
             "(N_opt is NaN); it cannot be trusted this far from its data", ScalingLawsWarning)
        return float("nan")
    lo, hi = res.x - 0.05, res.x + 0.05
    if slope(lo) < 0 < slope(hi):
        return float(np.exp(brentq(slope, lo, hi, xtol=1e-14, rtol=1e-15)))
    return float(np.exp(res.x))
