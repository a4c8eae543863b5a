"""Farseer (Li et al. 2025, "Predictable Scale: Part II, Farseer", arXiv:2506.10972):

    L(N, D) = exp(a3·N^gamma3 + b3) + exp(a2·N^gamma2 + b2) · D^(−exp(a1·N^gamma1 + b1))

N = non-embedding parameters, D = training tokens, loss in nats/token (the paper reports bits per character:
convert before comparing coefficients). The first term plays the role of E + A/N^alpha; the data term's
amplitude B(N) = exp(a2·N^gamma2 + b2) and exponent alpha(N) = exp(a1·N^gamma1 + b1) both depend on N, so
the law is not separable in N and D. Nine parameters.

The authors fit it stage-wise ("differential piecewise fitting"); :func:`farseer_stagewise` does a
generalized version (per model size a power law in D, then each coefficient as exp(a·N^gamma + b) by a grid over
gamma with linear least squares at each point). The global fitter starts from that estimate (and from the
Chinchilla-like point gamma = 0) and polishes all nine parameters together with Huber on log loss.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import Law, Param
from .registry import register

__all__ = ["Farseer", "farseer_stagewise"]

_GAMMA_BOUNDS = (-1.0, 1.0)


def _group_sizes(N: np.ndarray) -> np.ndarray:
    """Labels grouping equal model sizes (to 1e-6 relative)."""
    return np.unique(np.round(np.log(N) * 1e6).astype(np.int64), return_inverse=True)[1]


def _power_in_d(D: np.ndarray, L: np.ndarray) -> tuple[float, float, float] | None:
    """Fit L = c + B·D^(−alpha) for one model size: a grid over c below min L, least squares in log space."""
    if np.unique(D).size < 3:
        return None
    lD = np.log(D)
    best = None
    for c in np.min(L) * np.linspace(0.0, 0.995, 200):
        y = np.log(L - c)
        slope, intercept = np.polyfit(lD, y, 1)
        err = np.sum((c + np.exp(intercept + slope * lD) - L) ** 2)
        if slope < 0 and (best is None or err < best[0]):
            best = (err, c, np.exp(intercept), -slope)
    return None if best is None else best[1:]


def _exp_power_in_n(N: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """Fit log(values) = a·N^gamma + b: a grid over gamma, linear least squares in (a, b) at each point."""
    y = np.log(values)
    best = None
    for gamma in np.linspace(-0.5, 0.5, 201):
        x = N**gamma
        design = np.column_stack([x, np.ones_like(x)])
        (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
        err = float(np.sum((design @ [a, b] - y) ** 2))
        if best is None or err < best[0] - 1e-15:
            best = (err, a, gamma, b)
    return best[1:]


def farseer_stagewise(points: pd.DataFrame) -> dict[str, float] | None:
    """The stage-wise Farseer fit on a table with N, D and loss columns (None when it cannot be done).

    1. For every model size with at least 3 token counts, fit L = c_N + B_N·D^(−alpha_N).
    2. Fit log alpha_N = a1·N^gamma1 + b1, log B_N = a2·N^gamma2 + b2 and log c_N = a3·N^gamma3 + b3, each by a
       grid over gamma in [−0.5, 0.5] with linear least squares for (a, b).

    The paper differences runs whose D differ by √2 to cancel c_N; fitting c_N directly does the same job on
    any grid of token counts. At least 3 model sizes are needed.
    """
    N, D, L = (np.asarray(points[k], dtype=float) for k in ("N", "D", "loss"))
    groups = _group_sizes(N)
    rows = []
    for g in np.unique(groups):
        mask = groups == g
        fit = _power_in_d(D[mask], L[mask])
        if fit is not None and all(v > 0 for v in fit):
            rows.append((N[mask][0], *fit))
    if len(rows) < 3:
        return None
    n, c, B, alpha = (np.array(col) for col in zip(*rows))
    a1, g1, b1 = _exp_power_in_n(n, alpha)
    a2, g2, b2 = _exp_power_in_n(n, B)
    a3, g3, b3 = _exp_power_in_n(n, c)
    return dict(a1=a1, gamma1=g1, b1=b1, a2=a2, gamma2=g2, b2=b2, a3=a3, gamma3=g3, b3=b3)


@register
class Farseer(Law):
    """Farseer ``L = exp(a3·N^gamma3 + b3) + exp(a2·N^gamma2 + b2)·D^(−exp(a1·N^gamma1 + b1))``.

    With gamma1 = gamma2 = 0 the data term is B·D^(−beta), and exp(a3·N^gamma3 + b3) ≈ E + E·a3·N^gamma3 for small
    a3·N^gamma3: the Chinchilla law is (nearly) a special case.

    >>> law = Farseer()
    >>> p = dict(a1=0.0, gamma1=0.0, b1=np.log(0.3), a2=0.0, gamma2=0.0, b2=np.log(400.0),
    ...          a3=0.0, gamma3=0.0, b3=np.log(1.8))
    >>> round(law(N=1e9, D=1e10, **p), 6) == round(1.8 + 400.0 * 1e10**-0.3, 6)
    True
    """

    name = "farseer"
    inputs = ("N", "D")
    formula = "L = exp(a3*N^gamma3 + b3) + exp(a2*N^gamma2 + b2) * D^(-exp(a1*N^gamma1 + b1))"
    latex = r"L = e^{a_3 N^{\gamma_3} + b_3} + e^{a_2 N^{\gamma_2} + b_2}\, D^{-e^{a_1 N^{\gamma_1} + b_1}}"
    reference = "Li et al. 2025, Predictable Scale: Part II, Farseer (arXiv:2506.10972)"
    input_docs = {"N": "non-embedding parameters", "D": "training tokens"}
    default_params = (
        Param("a1", grid=(-1.0, 0.0, 1.0), doc="data exponent: coefficient of N^gamma1 in log alpha(N)"),
        Param("gamma1", bounds=_GAMMA_BOUNDS, grid=(-0.2, 0.2), doc="data exponent: power of N"),
        Param("b1", grid=(np.log(0.15), np.log(0.3), np.log(0.6)), doc="data exponent: offset of log alpha(N)"),
        Param("a2", grid=(-1.0, 0.0, 1.0), doc="data amplitude: coefficient of N^gamma2 in log B(N)"),
        Param("gamma2", bounds=_GAMMA_BOUNDS, grid=(-0.2, 0.2), doc="data amplitude: power of N"),
        Param("b2", grid=(2.0, 6.0, 10.0), doc="data amplitude: offset of log B(N)"),
        Param("a3", grid=(0.0, 10.0, 100.0), doc="model term: coefficient of N^gamma3"),
        Param("gamma3", bounds=_GAMMA_BOUNDS, grid=(-0.3,), doc="model term: power of N"),
        Param("b3", grid=(0.0, 0.5, 1.0), doc="model term: offset (log of the irreducible loss)"),
    )

    def _terms(self, X, a1, gamma1, b1, a2, gamma2, b2, a3, gamma3, b3):
        lN, lD = np.log(X["N"]), np.log(X["D"])
        p1, p2, p3 = np.exp(gamma1 * lN), np.exp(gamma2 * lN), np.exp(gamma3 * lN)
        alpha = np.exp(a1 * p1 + b1)
        model = np.exp(a3 * p3 + b3)
        data = np.exp(a2 * p2 + b2 - alpha * lD)
        return model, data, alpha, p1, p2, p3, lN, lD

    def evaluate(self, X, *p):
        model, data, *_ = self._terms(X, *p)
        return model + data

    def gradient(self, X, a1, gamma1, b1, a2, gamma2, b2, a3, gamma3, b3):
        model, data, alpha, p1, p2, p3, lN, lD = self._terms(X, a1, gamma1, b1, a2, gamma2, b2, a3, gamma3, b3)
        d_alpha = -data * lD * alpha  # d L / d (a1·N^gamma1 + b1)
        return (d_alpha * p1, d_alpha * a1 * p1 * lN, d_alpha,
                data * p2, data * a2 * p2 * lN, data,
                model * p3, model * a3 * p3 * lN, model)

    def data_starts(self, X, y):
        points = pd.DataFrame({"N": X["N"], "D": X["D"], "loss": y})
        start = farseer_stagewise(points)
        return [] if start is None else [start]
