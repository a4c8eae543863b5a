"""Farseer (Li et al. 2025, "Predictable Scale: Part II, Farseer", arXiv:2506.10972).

Published form (N = non-embedding parameters, D = training tokens; the paper's loss is bits per character,
ours nats/token: convert before comparing coefficients):

    L(N, D) = exp(a3·N^gamma3 + b3) + exp(a2·N^gamma2 + b2) · D^(−exp(a1·N^gamma1 + b1))

i.e. L = M(N) + B(N)·D^(−alpha(N)): a model term M(N) (the loss with unlimited data), and a data term whose
amplitude B(N) and exponent alpha(N) both depend on N, so the law is not separable in N and D.

**Parametrization.** Each of log alpha, log B, log M is a·N^gamma + b. Written that way the three
coefficients are nearly degenerate (when gamma·log(N range) is small, a → ±∞ and b → ∓∞ along a flat
valley), which defeats optimizers and makes standard errors meaningless. We fit the same family in the
centred Box-Cox form, around a reference size N_ref (``n_ref``, default 1e9 parameters):

    log alpha(N) = log alpha_ref + alpha_slope · q(N, alpha_curv),   q(N, g) = ((N/N_ref)^g − 1)/g

(q → log(N/N_ref) as g → 0), and likewise for B (B_ref, B_slope, B_curv) and M (M_ref, M_slope, M_curv).
Every parameter now means something: alpha_ref is the data exponent of an N_ref-sized model, alpha_slope the
log-log slope of alpha(N) there, alpha_curv its curvature. The published coefficients follow from
a = slope/(g·N_ref^g), b = log(value_ref) − slope/g, gamma = g (:meth:`Farseer.published`;
:meth:`Farseer.from_published` converts the other way).

**Fitting.** The authors fit stage-wise; :func:`farseer_stagewise` does a generalized version (per model
size a power law in D, then each coefficient over N) and is used as a data-driven start for the global
Huber fit of all nine parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import LawError
from .base import Law, Param
from .registry import register

__all__ = ["Farseer", "farseer_stagewise"]

_PIECES = ("alpha", "B", "M")
_CURV_BOUNDS = (-1.0, 1.0)


def _q(x_log: np.ndarray, g):
    """q = (exp(g·l) − 1)/g with l = log(N/N_ref), and dq/dg; series near g·l = 0."""
    gl = g * x_log
    small = np.abs(gl) < 1e-4
    safe_g = np.where(small, 1.0, g)
    expo = np.exp(gl)
    q = np.where(small, x_log * (1 + gl / 2 + gl**2 / 6), (expo - 1) / safe_g)
    dq = np.where(small, x_log**2 * (0.5 + gl / 3 + gl**2 / 8), (expo * gl - (expo - 1)) / safe_g**2)
    return q, dq


def _group_sizes(N: np.ndarray) -> np.ndarray:
    """Labels grouping equal model sizes (to 1e-6 relative)."""
    return np.unique(np.round(np.log(N) * 1e6).astype(np.int64), return_inverse=True)[1]


def _power_in_d(D: np.ndarray, L: np.ndarray) -> tuple[float, float, float] | None:
    """Fit L = c + B·D^(−alpha) for one model size: a grid over c below min L, least squares in log space,
    then a joint least-squares polish of (c, log B, alpha). None when the size has fewer than 3 token counts."""
    if np.unique(D).size < 3:
        return None
    lD, lL = np.log(D), np.log(L)
    best = None
    for c in np.min(L) * np.linspace(0.0, 0.995, 100):
        slope, intercept = np.polyfit(lD, np.log(L - c), 1)
        err = np.sum((np.log(c + np.exp(intercept + slope * lD)) - lL) ** 2)
        if slope < 0 and (best is None or err < best[0]):
            best = (err, c, intercept, -slope)
    if best is None:
        return None

    def residual(p):
        c, log_b, alpha = p
        return np.log(np.abs(c) + np.exp(log_b - alpha * lD)) - lL

    from scipy.optimize import least_squares
    res = least_squares(residual, best[1:], method="lm")
    c, log_b, alpha = res.x
    return (abs(c), float(np.exp(log_b)), alpha) if res.success and alpha > 0 else (best[1], np.exp(best[2]), best[3])


def _box_cox_fit(log_n: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Fit y = v + s·q(N, g) (q the centred Box-Cox map): a grid over g, linear least squares in (v, s)."""
    best = None
    for g in np.linspace(-1.0, 1.0, 201):
        q, _ = _q(log_n, g)
        design = np.column_stack([np.ones_like(q), q])
        (v, s), *_ = np.linalg.lstsq(design, y, rcond=None)
        err = float(np.sum((design @ [v, s] - y) ** 2))
        if best is None or err < best[0] - 1e-15:
            best = (err, v, s, g)
    return best[1:]


def farseer_stagewise(points: pd.DataFrame, n_ref: float = 1e9) -> dict[str, float] | None:
    """Stage-wise Farseer fit on a table with N, D and loss columns, in :class:`Farseer`'s parameters.

    1. For every model size with at least 3 token counts, fit L = M_N + B_N·D^(−alpha_N).
    2. Fit log alpha_N, log B_N and log M_N each as value + slope·q(N, curvature) over the sizes, by a grid
       over the curvature with linear least squares at each point (the paper's exp(a·N^gamma + b) terms).

    The paper differences runs whose D differ by √2 to cancel M_N; fitting M_N directly does the same job on
    any grid of token counts. Returns None with fewer than 3 usable model sizes.
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
    n, m, B, alpha = (np.array(col) for col in zip(*rows))
    log_n = np.log(n / n_ref)
    out = {}
    for piece, values in zip(_PIECES, (alpha, B, m)):
        v, s, g = _box_cox_fit(log_n, np.log(values))
        with np.errstate(over="ignore"):  # an absurd per-size fit gives inf, and the start is dropped
            out.update({f"{piece}_ref": float(np.exp(v)), f"{piece}_slope": float(s), f"{piece}_curv": float(g)})
    return out


@register
class Farseer(Law):
    """Farseer ``L = M(N) + B(N)·D^(−alpha(N))``, each of log M, log B, log alpha of the form a·N^gamma + b
    (see the module docstring for the centred parametrization and the published one).

    Convention: the published form (Li et al. 2025, their ``ExpExpExpFit``), N non-embedding parameters; the
    paper's loss is in bits per character. Fitted globally (Huber on log loss) in a centred Box-Cox
    parametrization, started from a stage-wise estimate in the spirit of their differential piecewise fit
    (:func:`farseer_stagewise`); their coefficients and runs were not available to compare with.

    >>> law = Farseer()
    >>> flat = dict(alpha_ref=0.3, alpha_slope=0.0, alpha_curv=0.0, B_ref=400.0, B_slope=0.0, B_curv=0.0,
    ...             M_ref=1.8, M_slope=0.0, M_curv=0.0)
    >>> round(law(N=5e8, D=1e10, **flat), 9) == round(1.8 + 400.0 * 1e10**-0.3, 9)
    True
    """

    name = "farseer"
    inputs = ("N", "D")
    formula = "L = exp(a3*N^gamma3 + b3) + exp(a2*N^gamma2 + b2) * D^(-exp(a1*N^gamma1 + b1))"
    latex = r"L = e^{a_3 N^{\gamma_3} + b_3} + e^{a_2 N^{\gamma_2} + b_2}\, D^{-e^{a_1 N^{\gamma_1} + b_1}}"
    reference = "Li et al. 2025, Predictable Scale: Part II, Farseer (arXiv:2506.10972)"
    input_docs = {"N": "non-embedding parameters", "D": "training tokens"}

    def __init__(self, n_ref: float = 1e9, params=None):
        if not n_ref > 0:
            raise LawError(f"n_ref must be a positive parameter count, got {n_ref!r}")
        self.n_ref = float(n_ref)
        ref = f"N_ref = {n_ref:g}"
        self.default_params = (
            Param("alpha_ref", bounds=(0.0, 5.0), grid=(0.2, 0.35, 0.6), log=True, doc=f"data exponent at {ref}"),
            Param("alpha_slope", bounds=(-2.0, 2.0), grid=(-0.1, 0.0, 0.1), doc="d log alpha / d log N at N_ref"),
            Param("alpha_curv", bounds=_CURV_BOUNDS, grid=(0.0,), doc="curvature gamma1 of log alpha in N"),
            Param("B_ref", bounds=(0.0, np.inf), grid=tuple(np.exp([4.0, 7.0, 10.0])), log=True,
                  doc=f"data-term amplitude at {ref}"),
            Param("B_slope", bounds=(-10.0, 10.0), grid=(-0.5, 0.0, 0.5), doc="d log B / d log N at N_ref"),
            Param("B_curv", bounds=_CURV_BOUNDS, grid=(0.0,), doc="curvature gamma2 of log B in N"),
            Param("M_ref", bounds=(0.0, np.inf), grid=(1.5, 2.5, 4.0), log=True, unit="nats/token",
                  doc=f"model term (loss with unlimited data) at {ref}"),
            Param("M_slope", bounds=(-5.0, 5.0), grid=(-0.3, -0.1), doc="d log M / d log N at N_ref"),
            Param("M_curv", bounds=_CURV_BOUNDS, grid=(-0.3, 0.0), doc="curvature gamma3 of log M in N"),
        )
        super().__init__(params)

    @property
    def config(self) -> dict:
        return {"n_ref": self.n_ref}

    def _terms(self, X, *p):
        log_n = np.log(X["N"] / self.n_ref)
        lD = np.log(X["D"])
        pieces = {}
        for k, piece in enumerate(_PIECES):
            ref, slope, curv = p[3 * k : 3 * k + 3]
            q, dq = _q(log_n, curv)
            with np.errstate(divide="ignore"):
                pieces[piece] = (np.exp(np.log(ref) + slope * q), slope, q, dq)  # in log space: no 0·inf
        return pieces, lD

    def evaluate(self, X, *p):
        pieces, lD = self._terms(X, *p)
        alpha, B, M = (pieces[k][0] for k in _PIECES)
        return M + B * np.exp(-alpha * lD)

    def gradient(self, X, *p):
        pieces, lD = self._terms(X, *p)
        alpha, B, M = (pieces[k][0] for k in _PIECES)
        data = B * np.exp(-alpha * lD)
        # derivative of L with respect to log alpha(N), log B(N), log M(N)
        outer = {"alpha": -data * lD * alpha, "B": data, "M": M}
        grads = []
        for k, piece in enumerate(_PIECES):
            _, slope, q, dq = pieces[piece]
            d_log = outer[piece]
            grads += [d_log / p[3 * k], d_log * q, d_log * slope * dq]
        return tuple(grads)

    def data_starts(self, X, y):
        start = farseer_stagewise(pd.DataFrame({"N": X["N"], "D": X["D"], "loss": y}), self.n_ref)
        return [] if start is None else [start]

    def published(self, values) -> dict[str, float]:
        """The published coefficients (a1, gamma1, b1, a2, gamma2, b2, a3, gamma3, b3) of parameter values
        given in law order or by name. A curvature of exactly 0 has no published equivalent (inf)."""
        p = dict(zip(self.param_names, values if not isinstance(values, dict) else self.values_of(values)))
        out = {}
        for k, piece in enumerate(_PIECES, start=1):
            ref, slope, g = p[f"{piece}_ref"], p[f"{piece}_slope"], p[f"{piece}_curv"]
            with np.errstate(divide="ignore"):
                a = slope / (g * self.n_ref**g) if g != 0 else np.inf
                b = np.log(ref) - slope / g if g != 0 else -np.inf
            out.update({f"a{k}": float(a), f"gamma{k}": float(g), f"b{k}": float(b)})
        return out

    def from_published(self, **coefficients: float) -> dict[str, float]:
        """Our parameters from the published coefficients a1, gamma1, b1, ..., a3, gamma3, b3.

        >>> law = Farseer()
        >>> pub = dict(a1=-3.0, gamma1=-0.1, b1=-0.5, a2=-2.0, gamma2=0.05, b2=13.0, a3=222.0, gamma3=-0.34, b3=0.6)
        >>> ours = law.from_published(**pub)
        >>> all(abs(law.published(ours)[k] - v) < 1e-9 * max(1, abs(v)) for k, v in pub.items())
        True
        """
        out = {}
        for k, piece in enumerate(_PIECES, start=1):
            a, g, b = coefficients[f"a{k}"], coefficients[f"gamma{k}"], coefficients[f"b{k}"]
            scaled = a * self.n_ref**g
            out.update({f"{piece}_ref": float(np.exp(scaled + b)), f"{piece}_slope": float(scaled * g),
                        f"{piece}_curv": float(g)})
        return out
