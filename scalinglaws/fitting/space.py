"""The map between a law's parameters and the vector the optimizer moves.

Free parameters become coordinates of ``theta`` (``log(value)`` for log-scale parameters); fixed
parameters are constants; tied parameters are computed from the others, with their derivatives by
central differences of the tie expression. Everything works on a batch of vectors ``theta`` of shape
``(S, F)`` at once, so the whole start grid is evaluated in one numpy call.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..exceptions import LawError
from ..laws.base import Law
from ..laws.expression import Expression

__all__ = ["ParameterSpace"]


class ParameterSpace:
    """Coordinates of the fit for one law (see the module docstring)."""

    def __init__(self, law: Law):
        self.law = law
        self.params = law.params
        self.names = law.param_names
        self.free = [i for i, p in enumerate(self.params) if p.vary]
        self.free_names = tuple(self.names[i] for i in self.free)
        self._log = np.array([self.params[i].log for i in self.free], dtype=bool)
        self._ties = [(self.names.index(n), Expression(law.param(n).tie)) for n in law.tie_order()]
        if not self.free:
            raise LawError(f"law '{law.name}': every parameter is fixed or tied; nothing to fit")
        #: every parameter free: natural values are theta itself (or its exp), the Jacobian is diagonal
        self.simple = len(self.free) == len(self.params)

    @property
    def n_free(self) -> int:
        return len(self.free)

    def bounds(self) -> list[tuple[float | None, float | None]]:
        """Bounds of ``theta`` for L-BFGS-B (None where unbounded)."""
        out = []
        for i, is_log in zip(self.free, self._log):
            lo, hi = self.params[i].bounds
            if is_log:
                lo = np.log(lo) if lo > 0 else -np.inf
                hi = np.log(hi) if np.isfinite(hi) else np.inf
            out.append((lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None))
        return out

    def to_theta(self, values: Sequence[float]) -> np.ndarray:
        """Natural values of all parameters (law order) → ``theta`` of the free ones."""
        v = np.array([values[i] for i in self.free], dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(self._log, np.log(np.where(self._log, v, 1.0)), v)

    def natural(self, theta: np.ndarray) -> list[np.ndarray]:
        """``theta`` of shape (S, F) → one array of shape (S, 1) per parameter, in law order."""
        theta = np.atleast_2d(theta)
        S = theta.shape[0]
        values: list[np.ndarray | None] = [None] * len(self.params)
        with np.errstate(over="ignore"):  # a wandering log-scale parameter gives inf, hence an inf objective
            free_values = np.where(self._log, np.exp(np.where(self._log, theta, 0.0)), theta)
        if self.simple:
            return [free_values[:, j : j + 1] for j in range(free_values.shape[1])]
        for j, i in enumerate(self.free):
            values[i] = free_values[:, j : j + 1]
        for i, p in enumerate(self.params):
            if p.fixed is not None:
                values[i] = np.full((S, 1), p.fixed)
        for i, expr in self._ties:
            values[i] = np.broadcast_to(
                np.asarray(expr(**{n: values[self.names.index(n)] for n in expr.names}), dtype=float), (S, 1))
        return values  # type: ignore[return-value]

    def diagonal(self, theta: np.ndarray) -> np.ndarray:
        """d(natural value)/d(theta) of each free parameter at one ``theta`` (F,): the value itself for
        log-scale parameters, else 1 (the diagonal of :meth:`jacobian` when no parameter is tied)."""
        return np.where(self._log, np.exp(np.where(self._log, theta, 0.0)), 1.0)

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """d(natural value)/d(theta), shape (S, P, F)."""
        theta = np.atleast_2d(theta)
        S, F = theta.shape
        values = self.natural(theta)
        jac = np.zeros((S, len(self.params), F))
        for j, i in enumerate(self.free):
            jac[:, i, j] = values[i][:, 0] if self._log[j] else 1.0
        for i, expr in self._ties:
            point = {n: values[self.names.index(n)] for n in expr.names}
            for n in expr.names:
                k = self.names.index(n)
                h = 1e-6 * np.maximum(1.0, np.abs(point[n]))
                up = np.asarray(expr(**{**point, n: point[n] + h}), dtype=float)
                down = np.asarray(expr(**{**point, n: point[n] - h}), dtype=float)
                slope = np.broadcast_to((up - down) / (2 * h), (S, 1))[:, 0]
                jac[:, i, :] += slope[:, None] * jac[:, k, :]
        return jac

    def clip(self, theta: np.ndarray) -> np.ndarray:
        """``theta`` (S, F) moved inside the bounds."""
        lo = np.array([-np.inf if b is None else b for b, _ in self.bounds()])
        hi = np.array([np.inf if b is None else b for _, b in self.bounds()])
        return np.clip(theta, lo, hi)

    def starts_from(self, points: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Start points given as name → value mappings (free parameters) as ``theta`` rows, inside the bounds.

        Points with a missing, non-finite or (for log-scale parameters) non-positive value are dropped.
        """
        rows = []
        for point in points:
            values = [point.get(self.names[i], np.nan) for i in self.free]
            if all(np.isfinite(v) and (not lg or v > 0) for v, lg in zip(values, self._log)):
                full = [0.0] * len(self.params)
                for i, v in zip(self.free, values):
                    full[i] = v
                rows.append(self.to_theta(full))
        return self.clip(np.array(rows, dtype=float).reshape(-1, self.n_free))

    def start_grid(self, grids: Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
        """The Cartesian product of the free parameters' start grids, as ``theta`` rows (S, F).

        ``grids`` overrides a parameter's grid (natural units). A parameter without a grid starts from
        the middle of its bounds (geometric middle for log-scale parameters; 0 or 1 when unbounded).
        Values outside the bounds are moved onto them.
        """
        grids = dict(grids or {})
        unknown = set(grids) - set(self.names)
        if unknown:
            raise LawError(f"start grid given for unknown parameter(s) {', '.join(sorted(unknown))}")
        axes = []
        for j, i in enumerate(self.free):
            p = self.params[i]
            values = np.asarray(grids.get(p.name, p.grid) or [_middle(p.bounds, p.log)], dtype=float)
            if p.log:
                values = np.log(np.maximum(values, np.finfo(float).tiny))
            axes.append(values)
        mesh = np.meshgrid(*axes, indexing="ij")  # the product in itertools.product's order, vectorized
        return self.clip(np.stack([m.reshape(-1) for m in mesh], axis=1).reshape(-1, len(axes)))

    def at_bound(self, theta: np.ndarray, rtol: float = 1e-6) -> np.ndarray:
        """For each parameter (law order): is it a free parameter sitting on one of its bounds?"""
        flags = np.zeros(len(self.params), dtype=bool)
        for j, (i, (lo, hi)) in enumerate(zip(self.free, self.bounds())):
            t = float(theta[j])
            for b in (lo, hi):
                if b is not None and abs(t - b) <= rtol * max(1.0, abs(b)):
                    flags[i] = True
        values = [float(v[0, 0]) for v in self.natural(theta)]
        for i, _ in self._ties:
            lo, hi = self.params[i].bounds
            flags[i] = not (lo < values[i] < hi)
        return flags


def _middle(bounds: tuple[float, float], log: bool) -> float:
    lo, hi = bounds
    if np.isfinite(lo) and np.isfinite(hi):
        return float(np.sqrt(lo * hi)) if log and lo > 0 else (lo + hi) / 2
    if log:
        return max(1.0, lo) if np.isfinite(lo) else 1.0
    if np.isfinite(lo):
        return lo + 1.0
    return hi - 1.0 if np.isfinite(hi) else 0.0
