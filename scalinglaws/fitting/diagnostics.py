"""Diagnostics of a fit as data: a small frozen record a program can query, from which the warnings' prose is
derived (in the spirit of iminuit's ``FMin``: valid, at limit, covariance accurate).

==================  ==========================================================================================
field               meaning
==================  ==========================================================================================
converged           the optimizer's stopping rule was met for the best start (``message`` says how it stopped)
at_bound            free parameters on a bound, each with ``"lower"`` or ``"upper"``; a scale parameter fitted on
                    a log scale whose lower bound is 0 counts as on it when it no longer changes any prediction
                    (d log L / d log p below 1e-8 at every point: e.g. E collapsed to 1e-32)
covariance_ok       the curvature of the objective is regular (finite, condition number below 1e15), so the
                    standard errors exist
undetermined        parameters whose standard error exceeds their value (a factor e for log-scale parameters)
collinear           pairs of parameters with |correlation| > 0.9999: only their combination is determined
n_points, n_free    fitted points and free parameters (``enough_points``: at least 3 points per parameter)
narrow              inputs whose data span less than a decade (max/min ratio)
outliers            points beyond 5 robust standard deviations of the residuals (indices); the scale leaves out
                    the ``n_free`` smallest residuals (a fit passes through about one point per parameter) and
                    none is flagged with fewer than 3 residual degrees of freedom
stderr_reliable     (property) at least 3 points per free parameter: with fewer, the standard errors can be
                    several times off, and the warnings say so
agreeing_starts     polished starts that reached the best objective, of ``polished_starts``
==================  ==========================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..exceptions import AtBoundWarning, ConvergenceWarning, DataWarning, IdentifiabilityWarning

__all__ = ["Diagnostics"]


@dataclass(frozen=True)
class Diagnostics:
    """How a fit went (see the module docstring). ``messages()`` gives the warnings, each with its category."""

    converged: bool
    message: str
    at_bound: Mapping[str, str] = field(default_factory=dict)
    covariance_ok: bool = True
    undetermined: tuple[str, ...] = ()
    collinear: tuple[tuple[str, str], ...] = ()
    n_points: int = 0
    n_free: int = 0
    narrow: Mapping[str, float] = field(default_factory=dict)
    outliers: tuple[int, ...] = ()
    worst_outlier: tuple[str, float] | None = None  # (run, residual) of the largest outlier
    agreeing_starts: int = 0
    polished_starts: int = 0
    adamw: bool = False  # an early-stopped recipe: "converged" means "stopped by its rule"

    def __post_init__(self):
        object.__setattr__(self, "at_bound", MappingProxyType(dict(self.at_bound)))
        object.__setattr__(self, "narrow", MappingProxyType({k: float(v) for k, v in self.narrow.items()}))
        object.__setattr__(self, "undetermined", tuple(self.undetermined))
        object.__setattr__(self, "collinear", tuple(tuple(p) for p in self.collinear))
        object.__setattr__(self, "outliers", tuple(int(i) for i in self.outliers))
        if self.worst_outlier is not None:
            object.__setattr__(self, "worst_outlier", (str(self.worst_outlier[0]), float(self.worst_outlier[1])))

    # -- the questions a program asks ------------------------------------------------------------------
    @property
    def identifiable(self) -> bool:
        """Every parameter is determined: a regular curvature, no undetermined or collinear parameters."""
        return self.covariance_ok and not self.undetermined and not self.collinear

    @property
    def enough_points(self) -> bool:
        """At least three points per free parameter."""
        return self.n_points >= 3 * self.n_free

    @property
    def stderr_reliable(self) -> bool:
        """Whether the asymptotic standard errors can be trusted: at least three points per free parameter (with
        fewer, the fit passes through most points and the residuals say little about the noise)."""
        return self.enough_points

    @property
    def valid(self) -> bool:
        """Converged, no parameter on a bound, identifiable, with enough points: a fit to extrapolate from."""
        return self.converged and not self.at_bound and self.identifiable and self.enough_points

    # -- prose ----------------------------------------------------------------------------------------------
    def messages(self) -> list[tuple[str, type]]:
        """The warnings of the fit, each with its warning category, derived from the fields."""
        notes: list[tuple[str, type]] = []
        if not self.converged:
            notes.append((f"the optimizer did not converge for the best start ({self.message}); the estimates may "
                          "be off: raise the iteration limit (maxiter, or the AdamW steps) or check the data",
                          ConvergenceWarning))
        if self.at_bound:
            where = ", ".join(f"{name} ({side})" for name, side in self.at_bound.items())
            notes.append((f"parameter(s) {where} ended on a bound: the law may be mis-specified or not "
                          "identifiable from these data; do not extrapolate from this fit", AtBoundWarning))
        if not self.covariance_ok:
            notes.append(("the curvature of the objective is singular: some parameters are not identifiable "
                          "(standard errors are NaN); fix or tie parameters, or add data", IdentifiabilityWarning))
        if self.undetermined:
            notes.append((f"parameter(s) {', '.join(self.undetermined)} are not determined by these data (standard "
                          "error larger than the value, or than a factor e for scale parameters); fix or tie "
                          "parameters, or add data over a wider range", IdentifiabilityWarning))
        if self.collinear:
            text = ", ".join(f"{a}~{b}" for a, b in self.collinear)
            notes.append((f"parameters nearly collinear ({text}, |correlation| > 0.9999): only their combination "
                          "is determined; trust predictions, not these parameters", IdentifiabilityWarning))
        if not self.enough_points:
            notes.append((f"only {self.n_points} points for {self.n_free} free parameters (fewer than 3 per "
                          "parameter); the fit will follow noise and its standard errors are not reliable; "
                          "bootstrap it or add runs", DataWarning))
        if self.narrow:
            text = ", ".join(f"{k} ({v:.3g}x)" for k, v in self.narrow.items())
            notes.append((f"the data span less than a decade in {text}: extrapolating beyond it is unreliable",
                          DataWarning))
        if self.outliers:
            run, r = self.worst_outlier or ("?", float("nan"))
            notes.append((f"{len(self.outliers)} point(s) lie beyond 5 robust standard deviations of the residuals "
                          f"(worst: run {run}, observed {100 * np.expm1(r):+.2g}% from the fit); check them",
                          DataWarning))
        return notes

    def to_dict(self) -> dict:
        """Plain data (for JSON)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["at_bound"] = dict(self.at_bound)
        out["undetermined"] = list(self.undetermined)
        out["outliers"] = list(self.outliers)
        out["narrow"] = dict(self.narrow)
        out["collinear"] = [list(p) for p in self.collinear]
        out["worst_outlier"] = None if self.worst_outlier is None else list(self.worst_outlier)
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> "Diagnostics":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["collinear"] = tuple(tuple(p) for p in d.get("collinear", ()))
        worst = d.get("worst_outlier")
        d["worst_outlier"] = None if worst is None else (worst[0], worst[1])
        return cls(**d)
