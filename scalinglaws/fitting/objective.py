"""The fit objective: a robust loss on log residuals, vectorized over many parameter vectors.

With residuals r_i = log L_obs,i − log L_pred,i the objective is Σ_i ρ(r_i), a **sum** (as Hoffmann
et al., Epoch AI and the Multi-Power-law code use), with

* ``huber`` (default): ρ(r) = r²/2 for |r| ≤ δ, else δ(|r| − δ/2); δ = 1e-3 by default. On the log
  scale δ = 1e-3 means residuals above 0.1 % of the loss count linearly, so the fit is robust to outliers.
* ``l2``: ρ(r) = r²/2 (least squares on log loss).

The optimizer sees the objective divided by δ² so that its values and gradients are of order one per
point; L-BFGS-B's default stopping rules otherwise stop the run early (LAWS.md §13.4).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..exceptions import FitError
from ..laws.base import Law
from .space import ParameterSpace

__all__ = ["LOSSES", "rho", "psi", "Objective"]

#: Robust losses the fitter minimizes on log residuals: Huber (default) and least squares.
LOSSES = ("huber", "l2")

#: Largest number of (start × point) residuals evaluated in one numpy call during screening.
_CHUNK = 2_000_000


def rho(r: np.ndarray, loss: str, delta: float) -> np.ndarray:
    """Per-point loss ρ(r). ``rho(5e-4, "huber", 1e-3)`` = 1.25e-7; ``rho(1e-2, "huber", 1e-3)`` = 9.5e-6."""
    if loss == "l2":
        return 0.5 * r * r
    a = np.abs(r)
    c = np.minimum(a, delta)  # r²/2 inside ±δ, δ(|r| − δ/2) outside, in three array operations
    return c * (a - 0.5 * c)


def psi(r: np.ndarray, loss: str, delta: float) -> np.ndarray:
    """Derivative ρ'(r): the residual clipped to ±δ for Huber, the residual itself for L2."""
    return r if loss == "l2" else np.clip(r, -delta, delta)


class Objective:
    """Σ ρ(log y − log f(X; θ)) for one law, data set and loss, in the coordinates of a ParameterSpace."""

    def __init__(self, law: Law, space: ParameterSpace, X: Mapping[str, np.ndarray], y: np.ndarray,
                 *, loss: str = "huber", delta: float = 1e-3):
        if loss not in LOSSES:
            raise FitError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")
        self.law, self.space, self.loss, self.delta = law, space, loss, float(delta)
        self.X = {k: np.asarray(v, dtype=float) for k, v in X.items()}
        self.log_y = np.log(np.asarray(y, dtype=float))
        self.scale = 1.0 / self.delta**2
        self.n = self.log_y.size

    def log_predict(self, theta: np.ndarray) -> np.ndarray:
        """log L_pred for each row of ``theta`` (S, F): shape (S, n)."""
        with np.errstate(all="ignore"):
            return np.broadcast_to(self.law.log_evaluate(self.X, *self.space.natural(theta)),
                                   (np.atleast_2d(theta).shape[0], self.n))

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """r = log L_obs − log L_pred, shape (S, n)."""
        return self.log_y - self.log_predict(theta)

    def values(self, theta: np.ndarray) -> np.ndarray:
        """Unscaled objective for every row of ``theta``; non-finite values become +inf. Shape (S,)."""
        theta = np.atleast_2d(theta)
        out = np.empty(theta.shape[0])
        cost = self.law.cost_per_point  # e.g. change points per observation of a curve law
        step = max(1, _CHUNK // max(self.n * cost, 1))
        for start in range(0, theta.shape[0], step):
            block = theta[start : start + step]
            with np.errstate(all="ignore"):
                f = rho(self.residuals(block), self.loss, self.delta).sum(axis=1)
            out[start : start + step] = np.where(np.isfinite(f), f, np.inf)
        return out

    def _value_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(theta)
        with np.errstate(all="ignore"):
            log_pred, grads = self.law.log_evaluate_and_gradient(self.X, *self.space.natural(theta))
            G = np.empty((self.n, len(grads)))  # (n, P); each gradient broadcasts into its column
            for j, g in enumerate(grads):
                G[:, j] = g
            if self.space.simple:
                J = G * self.space.diagonal(theta[0])
            else:
                J = G @ self.space.jacobian(theta)[0]
            return np.broadcast_to(log_pred, (1, self.n))[0], J

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """d log L_pred / d theta at one ``theta`` (F,): shape (n, F)."""
        return self._value_and_jacobian(theta)[1]

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Scaled objective and its analytic gradient at one ``theta`` (F,), for L-BFGS-B."""
        log_pred, J = self._value_and_jacobian(theta)
        with np.errstate(all="ignore"):
            r = self.log_y - log_pred
            f = float(rho(r, self.loss, self.delta).sum())
            grad = -psi(r, self.loss, self.delta) @ J
            if not (np.isfinite(f) and np.isfinite(grad).all()):
                return np.inf, np.zeros_like(theta)
            return f * self.scale, grad * self.scale
