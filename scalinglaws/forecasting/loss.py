"""Loss forecasts at new model sizes, token counts or compute budgets, with bands and extrapolation warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import ExtrapolationWarning, LawError, ScalingLawsError, warn
from ..fitting.bootstrap import BootstrapResult
from ..fitting.result import FitResult
from .allocation import compute_optimal

__all__ = ["forecast", "extrapolation_factor"]


def extrapolation_factor(fit: FitResult, **inputs) -> np.ndarray:
    """How far each target lies outside the fitted data: the largest, over the law's inputs, of
    target/largest fitted value and smallest fitted value/target (1 inside the range)."""
    factor = np.ones(np.broadcast_shapes(*(np.shape(v) for v in inputs.values())) if inputs else ())
    for name, value in inputs.items():
        data = np.asarray(fit.inputs[name], dtype=float)
        value = np.asarray(value, dtype=float)
        factor = np.maximum(factor, np.maximum(value / data.max(), data.min() / value))
    return factor


def forecast(fit: FitResult | BootstrapResult, *, level: float = 0.9, kind: str = "mean", warn_beyond: float = 10.0,
             flops_per_token: float = 6.0, data=None, **inputs) -> pd.DataFrame:
    """Predicted loss (nats/token) at the given inputs, with a band when ``fit`` is a bootstrap.

    Give the law's inputs by name (``N=7e9, D=2e12``; arrays broadcast) or a DataFrame ``data``. For a law of
    N and D, ``C`` (FLOPs) alone means the compute-optimal split of that budget, and ``C`` with ``N`` means
    D = C/(k·N). ``kind`` is ``"mean"`` (band of the law) or ``"observation"`` (band of a new run's measured
    loss). An :class:`ExtrapolationWarning` says how far beyond the fitted data a target is when that is more
    than ``warn_beyond`` times; the ``beyond`` column holds the factor for every row.

    Example: ``forecast(fit, N=7e10, D=1.4e12)`` or ``forecast(sl.bootstrap(fit), C=[1e23, 1e24])``.
    """
    boot = fit if isinstance(fit, BootstrapResult) else None
    base = boot.fit if boot else fit
    law = base.law
    values = {k: data[k] for k in data.columns} if data is not None else dict(inputs)
    if "C" in values and "C" not in law.inputs:
        if set(law.inputs) != {"N", "D"}:
            raise LawError(f"a compute budget C needs a law of N and D; '{law.name}' takes {', '.join(law.inputs)}")
        C = np.atleast_1d(np.asarray(values.pop("C"), dtype=float))
        if np.any(~np.isfinite(C)) or np.any(C <= 0):
            raise ScalingLawsError(f"compute budgets must be positive FLOP counts, got {C.tolist()}")
        if "N" in values:
            N = np.broadcast_to(np.asarray(values["N"], dtype=float), C.shape)
            values = {"N": N, "D": C / (flops_per_token * N)}
        else:
            alloc = compute_optimal(base, C, flops_per_token=flops_per_token)
            values = {"N": alloc["N_opt"].to_numpy(), "D": alloc["D_opt"].to_numpy()}
    X = base.law.inputs_of(values)
    for name, v in X.items():
        if np.any(~np.isfinite(v)) or np.any(v <= 0):
            raise ScalingLawsError(f"{name} must be positive and finite, got {np.atleast_1d(v).tolist()}")
    shape = np.broadcast_shapes(*(np.shape(v) for v in X.values()))
    X = {k: np.broadcast_to(v, shape).ravel().astype(float) for k, v in X.items()}
    if boot is not None:
        out = boot.predict(level, kind=kind, **X)
    else:
        out = pd.DataFrame({**X, "loss": base.predict(X)})
    beyond = extrapolation_factor(base, **X)
    out["beyond"] = beyond
    far = np.flatnonzero(beyond > warn_beyond)
    if far.size:
        i = far[np.argmax(beyond[far])]
        parts = []
        for name in law.inputs:
            fitted = np.asarray(base.inputs[name], dtype=float)
            value = X[name][i]
            if value > fitted.max():
                parts.append(f"{name} = {value:.3g} is {value / fitted.max():.3g}x the largest fitted ({fitted.max():.3g})")
            elif value < fitted.min():
                parts.append(f"{name} = {value:.3g} is {fitted.min() / value:.3g}x below the smallest fitted "
                             f"({fitted.min():.3g})")
        warn(f"forecast {beyond[i]:.3g}x beyond the fitted data: {'; '.join(parts)}" +
             (f" ({far.size} targets beyond {warn_beyond:g}x)" if far.size > 1 else ""), ExtrapolationWarning)
    return out
