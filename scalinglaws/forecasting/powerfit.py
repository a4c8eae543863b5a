"""Power laws y = a·x^b fitted by least squares in log-log space, with the standard error of the exponent.

Used for compute-optimal frontiers (N_opt ∝ C^a), IsoFLOP vertices, critical batch sizes and
hyperparameter laws (η ∝ N^a·D^b: several regressors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..exceptions import ScalingLawsError

__all__ = ["PowerFit", "fit_power_law"]


@dataclass(frozen=True)
class PowerFit:
    """y = coefficient · Π x_k^exponent_k, fitted in log space.

    ``exponents`` and ``stderr`` are keyed by regressor name; ``r2`` is that of log y; ``n`` the number of
    points. ``ci(level)`` gives t-intervals of the exponents.
    """

    coefficient: float
    exponents: Mapping[str, float]
    stderr: Mapping[str, float]
    r2: float
    n: int

    @property
    def exponent(self) -> float:
        """The exponent of a one-regressor power law."""
        if len(self.exponents) != 1:
            raise ScalingLawsError(f"this power law has {len(self.exponents)} exponents; use .exponents")
        return next(iter(self.exponents.values()))

    def __call__(self, *args, **kwargs) -> np.ndarray:
        """Evaluate: positionally for one regressor, by name for several."""
        values = dict(zip(self.exponents, args)) | kwargs
        out = self.coefficient
        for name, b in self.exponents.items():
            out = out * np.asarray(values[name], dtype=float) ** b
        return out

    def ci(self, level: float = 0.9) -> dict[str, tuple[float, float]]:
        """t-distribution intervals of the exponents (NaN with too few points)."""
        dof = self.n - len(self.exponents) - 1
        from scipy import stats
        q = stats.t.ppf(0.5 + level / 2, dof) if dof > 0 else np.nan
        return {k: (b - q * self.stderr[k], b + q * self.stderr[k]) for k, b in self.exponents.items()}

    def describe(self, y: str = "y") -> str:
        terms = "·".join(f"{k}^{b:.4g}" for k, b in self.exponents.items())
        errs = ", ".join(f"{k} ± {self.stderr[k]:.2g}" for k in self.exponents)
        return f"{y} = {self.coefficient:.4g}·{terms}  (exponent std err {errs}; R² {self.r2:.4f}, n = {self.n})"


def fit_power_law(y, x=None, *, weights=None, **regressors) -> PowerFit:
    """Fit y = a·x^b (``x`` given) or y = a·Π r_k^{b_k} (regressors by name) by least squares on logs.

    ``weights`` are per point (e.g. 1/variance of log y).

    >>> fit = fit_power_law([2.0, 4.0, 8.0], x=[1.0, 4.0, 16.0])
    >>> round(fit.exponent, 6), round(fit.coefficient, 6)
    (0.5, 2.0)
    """
    if x is not None:
        regressors = {"x": x, **regressors}
    if not regressors:
        raise ScalingLawsError("give the regressor(s) of the power law")
    ly = np.log(np.asarray(y, dtype=float))
    names: Sequence[str] = list(regressors)
    X = np.column_stack([np.ones_like(ly)] + [np.log(np.asarray(regressors[k], dtype=float)) for k in names])
    if not (np.all(np.isfinite(ly)) and np.all(np.isfinite(X))):
        raise ScalingLawsError("power laws need positive, finite values")
    n, p = X.shape
    if n < p:
        raise ScalingLawsError(f"{n} points cannot fit a power law with {p} coefficients")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], ly * sw, rcond=None)
    resid = ly - X @ beta
    dof = n - p
    sigma2 = float(np.sum(w * resid**2) / dof) if dof > 0 else np.nan
    with np.errstate(invalid="ignore"):
        cov = sigma2 * np.linalg.pinv((X * w[:, None]).T @ X)
        ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else np.nan
    return PowerFit(coefficient=float(np.exp(beta[0])),
                    exponents={k: float(b) for k, b in zip(names, beta[1:])},
                    stderr={k: float(np.sqrt(max(cov[i + 1, i + 1], 0.0))) for i, k in enumerate(names)},
                    r2=r2, n=n)
