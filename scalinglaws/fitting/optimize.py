"""The robust multi-start fitter.

``fit(law, data)`` does, in order:

1. **Screening**: the objective (Huber on log residuals, see :mod:`.objective`) is evaluated at every
   point of the law's start grid in one vectorized numpy pass (the Chinchilla grid is Epoch AI's 4,500
   starts), plus optional seeded random starts.
2. **Polishing**: the ``top_k`` best starts are refined together by a vectorized Levenberg-Marquardt solver
   (:mod:`.batched`) with the law's analytic gradient, within the parameter bounds. The per-start reference
   (``polish="lbfgsb"``) runs L-BFGS-B from each start and gives the 3 best end points a Gauss-Newton
   (trust-region least squares) refinement on the same Huber objective. The best end point is the fit.
3. **Diagnostics**: convergence, parameters at bounds, agreement between polished starts, a robust
   covariance, the log-likelihood for AIC/BIC, and warnings for anything suspicious.

**Covariance.** For an M-estimator solving Σ ψ(r_i)·g_i = 0 (g_i = ∂ log L_pred,i / ∂θ) the asymptotic
covariance is the sandwich A⁻¹·B·A⁻¹·n/(n−p) with B = Σ ψ(r_i)² g_i g_iᵀ and A = m·Σ g_i g_iᵀ the expected
Hessian of the objective, where m = E[ψ'(r)] is the share of residuals inside ±δ, estimated with a
Gaussian kernel so it stays positive when few residuals fall inside (for ``l2``, m = 1 and this is the
usual heteroscedasticity-robust least-squares covariance). It is computed for the fitted coordinates
(log-scale parameters on a log scale) and carried to the parameters by the delta method.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .._threads import one_thread
from ..exceptions import FitError, InputError, LawError, warn
from ..laws.base import Law
from ..laws.registry import get_law
from ..schema import POINT_INPUTS, Source, boolean_column, points_table
from .adamw import AdamW
from .diagnostics import Diagnostics
from .batched import polish_runs
from .objective import LOSSES, Objective, psi, rho
from .result import FitResult
from .space import ParameterSpace

__all__ = ["Fitter", "fit"]

#: How many of the best L-BFGS-B end points get the Gauss-Newton refinement.
_REFINED = 3


@dataclass(frozen=True)
class Fitter:
    """Settings of the fitter; :meth:`fit` does the work (constructors only store settings).

    Parameters
    ----------
    loss : {"huber", "l2"}
        Robust Huber loss (default) or least squares, on log-loss residuals.
    delta : float
        Huber threshold on the log scale (1e-3: residuals beyond 0.1 % count linearly).
    top_k : int
        Number of best-screened starts polished with L-BFGS-B.
    grid : mapping, optional
        Start values per parameter (natural units), replacing the law's grid for those parameters.
    random_starts : int
        Extra starts drawn uniformly (seeded) inside the box spanned by the grid.
    seed : int
        Seed for the random starts; results are identical for identical seeds.
    maxiter : int
        Iteration limit of each polish run (L-BFGS-B iterations, batched Levenberg-Marquardt steps).
    polish : {"batched", "lbfgsb", "trf", "adamw"}
        ``batched``: all chosen starts polished together by one vectorized Levenberg-Marquardt solver on the
        same objective and bounds (:mod:`.batched`; default; a law with ``batched_polish = False``, such as
        Multi-Power, gets ``lbfgsb``); ``lbfgsb``: L-BFGS-B from each chosen start, then Gauss-Newton on the
        best 3 end points (the per-start scipy reference); ``trf``: Gauss-Newton (trust-region least squares)
        straight from each chosen start, faster for laws with long, flat valleys such as the Multi-Power law on
        few curves; ``adamw``: early-stopped AdamW from each chosen start (see :mod:`.adamw`): a published
        recipe's deliberately unconverged fit.
    adamw : AdamW or mapping, optional
        Settings of the ``adamw`` polish (default :class:`~scalinglaws.fitting.adamw.AdamW()`).
    starts : {"search", "data"}
        ``search``: the start grid, the law's data-driven starts and the random starts (default); ``data``:
        only the law's data-driven starts (a recipe that prescribes its start point).
    """

    loss: str = "huber"
    delta: float = 1e-3
    top_k: int = 8
    grid: Mapping[str, Sequence[float]] | None = None
    random_starts: int = 0
    seed: int = 0
    maxiter: int = 5000
    polish: str = "batched"
    adamw: AdamW | Mapping | None = None
    starts: str = "search"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise FitError(f"unknown loss {self.loss!r}; use one of {', '.join(LOSSES)}")
        if not self.delta > 0:
            raise FitError(f"Huber delta must be positive, got {self.delta}")
        for name in ("top_k", "maxiter"):
            if getattr(self, name) < 1:
                raise FitError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.random_starts < 0:
            raise FitError(f"random_starts must be >= 0, got {self.random_starts}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise FitError(f"seed must be a whole number >= 0, got {self.seed!r}; give e.g. seed=0 (--seed 0)")
        if self.polish not in ("batched", "lbfgsb", "trf", "adamw"):
            raise FitError(f"polish must be 'batched', 'lbfgsb', 'trf' or 'adamw', got {self.polish!r}")
        if self.starts not in ("search", "data"):
            raise FitError(f"starts must be 'search' or 'data', got {self.starts!r}")
        if self.adamw is not None and self.polish != "adamw":
            raise FitError(f"AdamW settings were given but polish is {self.polish!r}; use polish='adamw'")
        object.__setattr__(self, "adamw", AdamW.from_value(self.adamw) if self.polish == "adamw" else None)

    @classmethod
    def from_settings(cls, settings: Mapping, **overrides) -> "Fitter":
        """The fitter a result was made with (its ``settings``; other keys there are notes, ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in {**dict(settings), **overrides}.items() if k in names})

    def fit(self, law: str | Law, data, *, columns: Mapping[str, str] | None = None) -> FitResult:
        """Fit ``law`` (a registry name or a :class:`Law`) to ``data`` (a points table, another DataFrame, or a
        mapping of columns; read files first with :func:`~scalinglaws.io.read_points`).

        Rows whose ``exclude`` column is true are left out and counted in ``FitResult.n_excluded``. BLAS and
        OpenMP pools are bounded to one thread while it runs (see :mod:`scalinglaws._threads`).
        """
        with one_thread():
            return self._fit(law, data, columns)

    def _fit(self, law, data, columns) -> FitResult:
        law = get_law(law)
        table, n_excluded = _prepare(law, data, columns)
        space = ParameterSpace(law)
        X = law.inputs_of(table)
        distinct = _distinct_points(X, len(table))
        if distinct <= space.n_free:
            source = getattr(data, "attrs", {}).get("source") if hasattr(data, "attrs") else None
            where = f"{source}: " if source else ""
            count = (f"{distinct} point{'' if distinct == 1 else 's'}" if distinct == len(table) else
                     f"{distinct} distinct point{'' if distinct == 1 else 's'} ({len(table)} rows, "
                     f"{len(table) - distinct} repeating the inputs of another)")
            raise FitError(f"{where}{count} cannot determine {space.n_free} free parameters; give more runs or "
                           "fix some parameters (--fix NAME=VALUE)")
        y = table["loss"].to_numpy(float)
        objective = Objective(law, space, X, y, loss=self.loss, delta=self.delta)

        starts = self.start_points(law, space, X, y)
        screened = objective.values(starts)
        chosen, runs, best = self.search(objective, space, starts, screened)
        theta = runs[best].x

        start_table = _start_table(objective, space, starts, screened, chosen, runs)
        r = objective.residuals(theta)[0]
        J = objective.jacobian(theta)
        cov_theta = _covariance(objective, J, r)
        jac = space.jacobian(theta)[0]
        covariance = jac @ cov_theta @ jac.T
        values = np.array([float(v[0, 0]) for v in space.natural(theta)])
        diagnostics = _diagnostics(law, space, runs[best], values, space.at_bound(theta), cov_theta, J, X, r,
                                   table["run"].to_numpy(object), start_table, self.polish == "adamw")
        for message, category in diagnostics.messages():
            warn(message, category)
        return FitResult(
            law=law, values=values, stderr=np.sqrt(np.clip(np.diag(covariance), 0, None)), covariance=covariance,
            objective=float(objective.values(theta[None, :])[0]), inputs=X,
            observed=table["loss"].to_numpy(float), runs=table["run"].to_numpy(object), residuals=r,
            start_table=start_table, loglik=_loglik(r, self.loss, self.delta), settings=self._settings(),
            n_excluded=n_excluded, diagnostics=diagnostics,
        )

    def start_points(self, law: Law, space: ParameterSpace, X: Mapping[str, np.ndarray], y: np.ndarray) -> np.ndarray:
        """Every start of the search, as ``theta`` rows: the start grid (the law's, then its data-driven
        grids, then the user's), the law's data-driven start points, and seeded random starts in the box the
        grid spans."""
        if self.starts == "data":
            given = space.starts_from(law.data_starts(X, y))
            if not len(given):
                raise FitError(f"law '{law.name}' gives no data-driven start for these data; use starts='search'")
            return given
        grids = {**law.data_grid(X, y), **(self.grid or {})}
        grid = np.vstack([space.start_grid(grids), space.starts_from(law.data_starts(X, y))])
        if self.random_starts <= 0:
            return grid
        rng = np.random.default_rng(self.seed)
        lo, hi = grid.min(axis=0), grid.max(axis=0)
        for j, (blo, bhi) in enumerate(space.bounds()):
            if lo[j] == hi[j]:  # a single grid value: explore one unit around it, inside the bounds
                lo[j] = lo[j] - 1.0 if blo is None else max(lo[j] - 1.0, blo)
                hi[j] = hi[j] + 1.0 if bhi is None else min(hi[j] + 1.0, bhi)
        extra = lo + (hi - lo) * rng.random((self.random_starts, grid.shape[1]))
        return np.vstack([grid, space.clip(extra)])

    def search(self, objective: Objective, space: ParameterSpace, starts: np.ndarray, screened: np.ndarray,
               top_k: int | None = None) -> tuple[list[int], list[OptimizeResult], int]:
        """Polish the ``top_k`` best screened starts (with the ``polish`` method; for ``lbfgsb``, L-BFGS-B,
        then Gauss-Newton on the best 3 ends).

        Returns the indices of the polished starts, their optimizer results and the index of the best.
        """
        if not np.isfinite(screened).any():
            raise FitError(f"law '{objective.law.name}' gives no finite loss at any of {len(starts)} starts; "
                           "check the units of the data or give a start grid")
        order = np.argsort(screened, kind="stable")
        chosen = [int(i) for i in order[: top_k or self.top_k] if np.isfinite(screened[i])]
        if self.polish == "batched" and objective.law.batched_polish:  # the chosen starts in one solver
            runs = polish_runs(objective, starts[chosen], max_iter=self.maxiter)
        elif self.polish == "adamw":
            runs = [self.adamw.run(objective, space, starts[i]) for i in chosen]
        elif self.polish == "trf":
            runs = []
            for i in chosen:
                from scipy.optimize import OptimizeResult
                start = OptimizeResult(x=starts[i].copy(), fun=objective.value_and_grad(starts[i])[0], success=False,
                                       nit=0, message="not moved")
                runs.append(self._refine(objective, space, start))
        else:  # lbfgsb, and batched for a law that opts out of it (Law.batched_polish)
            runs = [self._lbfgsb(objective, space, starts[i]) for i in chosen]
            for j in sorted(range(len(runs)), key=lambda j: (runs[j].fun, j))[:_REFINED]:
                self._refine(objective, space, runs[j])
        return chosen, runs, _best(runs)

    def _lbfgsb(self, objective: Objective, space: ParameterSpace, theta0: np.ndarray) -> OptimizeResult:
        """L-BFGS-B from ``theta0`` with the analytic gradient of the (scaled) objective."""
        from scipy.optimize import minimize
        res = minimize(objective.value_and_grad, theta0, jac=True, method="L-BFGS-B", bounds=space.bounds(),
                       options={"maxiter": self.maxiter, "ftol": 1e-12, "gtol": 1e-7, "maxcor": 20})
        res.message = _message(res)
        return res

    def _refine(self, objective: Objective, space: ParameterSpace, res: OptimizeResult) -> OptimizeResult:
        """Gauss-Newton refinement of an L-BFGS-B end point, in place.

        L-BFGS-B gets near the optimum fast but stalls on ill-conditioned laws (Farseer's a·N^gamma terms) and at
        the kinks of the Huber loss. The refinement is scipy's trust-region-reflective least squares with the
        same loss (``loss="huber"`` with ``f_scale=delta`` is exactly our ρ), the analytic Jacobian and
        Jacobian-based scaling; it finishes ill-conditioned fits and costs a few evaluations on easy ones.
        The lower end point is kept; convergence is the refinement's.
        """
        if not np.isfinite(res.fun):
            return res
        lower = [-np.inf if b is None else b for b, _ in space.bounds()]
        upper = [np.inf if b is None else b for _, b in space.bounds()]
        try:
            with np.errstate(all="ignore"):  # scipy's trust-region step may overflow while probing far points
                from scipy.optimize import least_squares
                ref = least_squares(lambda t: objective.residuals(t)[0], res.x, jac=lambda t: -objective.jacobian(t),
                                    bounds=(lower, upper), method="trf",
                                    loss="huber" if self.loss == "huber" else "linear", f_scale=self.delta,
                                    x_scale="jac", max_nfev=100 * (space.n_free + 1), ftol=1e-12, xtol=1e-12,
                                    gtol=1e-12)
        except ValueError:  # non-finite residuals along the way: keep the starting point
            return res
        fun = float(objective.values(ref.x[None, :])[0]) * objective.scale
        if fun <= res.fun:
            res.x, res.fun = ref.x, fun
            res.success = ref.status > 0
            res.message = _TRF_MESSAGES.get(ref.status, str(ref.message))
        else:
            res.success = res.success or ref.status > 0  # the refinement found no better point nearby
        res.nit += ref.nfev
        return res

    def _settings(self) -> dict:
        out = asdict(self)
        out["grid"] = None if self.grid is None else {k: [float(x) for x in v] for k, v in self.grid.items()}
        out["adamw"] = None if self.adamw is None else self.adamw.to_dict()
        return out


def fit(law: str | Law, data, *, columns: Mapping[str, str] | None = None, **settings) -> FitResult:
    """Fit a law to a table with a :class:`Fitter` built from ``settings``. Example::

        result = fit("chinchilla", sl.read_points("data/chinchilla_epoch.csv"), loss="huber", delta=1e-3)
        print(result.summary())
    """
    try:
        fitter = Fitter(**settings)
    except TypeError as err:
        raise FitError(f"unknown fit setting: {err}") from None
    return fitter.fit(law, data, columns=columns)


def _prepare(law: Law, data, columns) -> tuple[pd.DataFrame, int]:
    """The rows to fit (exclusions removed) with the law's inputs and a positive finite loss.

    DataFrames (or mappings of columns) for laws whose inputs are all points-table columns (N, D, C, U, N_avg,
    S_min) are validated as points tables; other tables (e.g. of loss curves) are used as given, with
    ``exclude`` read as true/false. Files are read by :func:`~scalinglaws.io.read_points` or
    :func:`~scalinglaws.io.read_input`, not here.
    """
    point_inputs = [k for k in law.inputs if k in POINT_INPUTS]
    if isinstance(data, (str, Path)):
        raise FitError(f"fit takes a table, not the path {str(data)!r}; read the file first: "
                       "sl.fit(law, sl.read_points(path)) (or sl.read_input(path).table for logs)")
    if isinstance(data, Mapping):
        data = pd.DataFrame(dict(data))
    if not isinstance(data, pd.DataFrame):
        raise FitError(f"fit takes a pandas DataFrame (or a mapping of columns), not {type(data).__name__}")
    if columns or set(law.inputs) <= set(POINT_INPUTS):
        table = points_table(data, columns=columns, require=point_inputs)
    else:
        table = data
        if "exclude" in data.columns:
            table = data.assign(exclude=boolean_column(data["exclude"], "exclude", Source()))
    if "run" not in table.columns and "run_index" in table.columns:  # curve laws: the rows of a run are one run
        table = table.assign(run="run" + pd.to_numeric(table["run_index"], errors="coerce").astype("Int64").astype(str))
    elif "run" not in table.columns:  # points: every row is a run
        table = table.assign(run=[f"run{i}" for i in range(len(table))])
    n_excluded = 0
    if "exclude" in table.columns:
        keep = ~table["exclude"].to_numpy(dtype=bool)
        n_excluded = int((~keep).sum())
        table = table.loc[keep]
    law.inputs_of(table)  # names any missing input column
    if "loss" not in table.columns:
        raise LawError(f"law '{law.name}' is fitted to a 'loss' column; the data has {', '.join(table.columns)}")
    for column in (*law.inputs, "loss"):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(values) | ((values <= 0) if column == "loss" else False))
        if bad.size:
            raise InputError(f"value {table[column].iloc[bad[0]]!r} cannot be fitted "
                             f"({bad.size} such rows)", row=int(table.index[bad[0]]), column=column,
                             hint="losses must be positive and every input finite")
    return table.reset_index(drop=True), n_excluded


def _best(runs) -> int:
    """Index of the best polished run: the lowest objective, preferring a converged run that is as good
    (within 1e-9 relative) over an unconverged one that is marginally lower."""
    lowest = min(r.fun for r in runs)
    good = [j for j, r in enumerate(runs) if r.success and r.fun <= lowest + 1e-9 * abs(lowest)]
    candidates = good or range(len(runs))
    return min(candidates, key=lambda j: (runs[j].fun, j))


def _start_table(objective: Objective, space: ParameterSpace, starts, screened, chosen, runs) -> dict[str, np.ndarray]:
    """Every start's position and screened objective; for polished ones, end point, objective, status."""
    S = len(starts)
    start_values = np.concatenate(_free_values(space, starts), axis=1)
    table: dict[str, np.ndarray] = {f"start_{n}": start_values[:, j] for j, n in enumerate(space.free_names)}
    table["start_objective"] = screened
    polished = np.zeros(S, dtype=bool)
    polished[chosen] = True
    end = np.full((S, space.n_free), np.nan)
    end_objective = np.full(S, np.nan)
    success = np.zeros(S, dtype=bool)
    iterations = np.zeros(S, dtype=np.int64)
    ends = np.array([res.x for res in runs])
    end[chosen] = np.concatenate(_free_values(space, ends), axis=1)
    end_objective[chosen] = objective.values(ends)
    for i, res in zip(chosen, runs):
        success[i] = res.success
        iterations[i] = res.nit
    table["polished"] = polished
    table.update({f"end_{n}": end[:, j] for j, n in enumerate(space.free_names)})
    table["end_objective"] = end_objective
    table["success"] = success
    table["iterations"] = iterations
    return table


def _free_values(space: ParameterSpace, theta: np.ndarray) -> list[np.ndarray]:
    values = space.natural(theta)
    return [values[i] for i in space.free]


def _covariance(objective: Objective, J: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Robust sandwich covariance of theta from the Jacobian ``J`` of log predictions and the residuals ``r`` at
    the optimum (see the module docstring); NaN when it cannot be formed."""
    n, p = J.shape
    score = psi(r, objective.loss, objective.delta)
    if objective.loss == "l2":
        m = 1.0
    else:  # m = P(|r| <= delta), from a Gaussian kernel density of the residuals (Silverman's bandwidth)
        iqr = np.subtract(*np.percentile(r, [75, 25])) / 1.349
        spread = min(np.std(r), iqr) if iqr > 0 else np.std(r)
        h = max(1.06 * (spread or objective.delta) * n**-0.2, 1e-12)
        d = objective.delta
        from scipy.special import ndtr
        m = float(np.mean(ndtr((d - r) / h) - ndtr((-d - r) / h)))
        # The fit passes through about one point per parameter (|r| ~ 0 there), which piles residuals inside
        # ±delta and inflates m (and shrinks the errors 10-35x for small designs). The share a Gaussian of the
        # degrees-of-freedom corrected scale sqrt(Σr²/(n-p)) puts inside ±delta does not see that pile: the
        # smaller of the two is used.
        sigma = math.sqrt(float(np.sum(r**2)) / max(n - p, 1))
        if sigma > 0:
            m = min(m, float(2 * ndtr(d / sigma) - 1))
    A = m * (J.T @ J)
    B = (J * score[:, None]).T @ (J * score[:, None])
    try:
        A_inv = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.full((p, p), np.nan)
    if not np.all(np.isfinite(A_inv)) or np.linalg.cond(A) > 1e15:
        return np.full((p, p), np.nan)
    return A_inv @ B @ A_inv * n / max(n - p, 1)


def _loglik(r: np.ndarray, loss: str, delta: float) -> float:
    """Maximum log-likelihood of the residuals for the density whose location MLE is this fit.

    ``l2``: Gaussian with fitted variance. ``huber``: p(r) ∝ exp(−h_δ(r)/σ²) (Gaussian core, exponential
    tails), normalised by Z = σ√(2π)(2Φ(δ/σ) − 1) + (2σ²/δ)·exp(−δ²/(2σ²)), maximised over σ.
    """
    n = r.size
    if loss == "l2":
        var = max(float(np.mean(r**2)), 1e-300)
        return -0.5 * n * (math.log(2 * math.pi * var) + 1)
    total = float(np.sum(rho(r, "huber", delta)))

    def neg(log_sigma: float) -> float:
        s = math.exp(log_sigma)
        z = s * math.sqrt(2 * math.pi) * (2 * ndtr(delta / s) - 1) + 2 * s * s / delta * math.exp(-delta**2 / (2 * s * s))
        return total / (s * s) + n * math.log(z)

    from scipy.optimize import minimize_scalar
    from scipy.special import ndtr

    s0 = max(float(np.sqrt(np.mean(r**2))), delta * 1e-3, 1e-12)
    res = minimize_scalar(neg, bounds=(math.log(s0) - 12, math.log(s0) + 6), method="bounded",
                          options={"xatol": 1e-10})
    return -float(res.fun)


_PLAIN_MESSAGES = {
    "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH": "the objective stopped improving",
    "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL": "the gradient vanished",
    "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT": "iteration limit reached",
    "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT": "evaluation limit reached",
}
_TRF_MESSAGES = {
    0: "evaluation limit reached",
    1: "the gradient vanished",
    2: "the objective stopped improving",
    3: "the parameters stopped moving",
    4: "the objective and the parameters stopped changing",
}


def _message(res) -> str:
    """L-BFGS-B's stopping message in plain words."""
    msg = res.message.decode() if isinstance(res.message, bytes) else str(res.message)
    return _PLAIN_MESSAGES.get(msg.strip(), msg.strip().lower() or "stopped")


def _diagnostics(law: Law, space: ParameterSpace, best, values, at_bound, cov_theta, jac, X, residuals, runs,
                 start_table, adamw: bool) -> Diagnostics:
    """The :class:`Diagnostics` of a fit."""
    bound_side = {}
    for j, (i, (lo, hi)) in enumerate(zip(space.free, space.bounds())):
        name = space.names[i]
        if at_bound[i]:
            t = float(space.to_theta(values)[j])
            bound_side[name] = "lower" if lo is not None and abs(t - lo) <= abs(t - (hi if hi is not None else np.inf)) \
                else "upper"
        elif space.params[i].log and space.params[i].bounds[0] == 0 and jac.size \
                and np.nanmax(np.abs(jac[:, j])) < 1e-8:  # a scale that no longer matters: collapsed onto 0
            bound_side[name] = "lower"
    for i, _ in space._ties:
        if at_bound[i]:
            lo, hi = space.params[i].bounds
            bound_side[space.names[i]] = "lower" if values[i] <= lo else "upper"
    covariance_ok = bool(np.all(np.isfinite(cov_theta)))
    undetermined, collinear = (), ()
    if covariance_ok:
        s = np.sqrt(np.diag(cov_theta))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov_theta / np.outer(s, s)
        theta = space.to_theta(values)
        undetermined = tuple(name for j, name in enumerate(space.free_names)
                             if s[j] > (1.0 if space.params[space.free[j]].log else abs(theta[j])))
        collinear = tuple((space.free_names[i], space.free_names[j]) for i in range(len(s))
                          for j in range(i + 1, len(s)) if abs(corr[i, j]) > 0.9999)
    narrow = {k: float(np.max(v) / np.min(v)) for k, v in X.items()
              if k not in ("run_index",) and np.min(v) > 0 and np.max(v) / np.min(v) < 10}
    outliers, centred = _outliers(residuals, space.n_free)
    worst = None
    if outliers.size:
        k = outliers[np.argmax(np.abs(centred[outliers]))]
        worst = (str(runs[k]), float(residuals[k]))
    end = start_table["end_objective"]
    polished = np.asarray(start_table["polished"], dtype=bool)
    best_value = float(np.nanmin(end[polished])) if polished.any() else np.nan
    agreeing = int(np.sum(polished & (end <= best_value * (1 + 1e-6) + 1e-300)))
    return Diagnostics(converged=bool(best.success), message=str(best.message), at_bound=bound_side,
                       covariance_ok=covariance_ok, undetermined=undetermined, collinear=collinear,
                       n_points=int(residuals.size), n_free=space.n_free, narrow=narrow, outliers=tuple(outliers),
                       worst_outlier=worst, agreeing_starts=agreeing, polished_starts=int(polished.sum()),
                       adamw=adamw)


#: Residual degrees of freedom (points minus free parameters) below which no point is called an outlier.
OUTLIER_MIN_DOF = 3


def _outliers(residuals: np.ndarray, n_free: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of points beyond 5 robust standard deviations of the residuals, and the centred residuals.

    The robust scale is the median absolute residual of all but the ``n_free`` smallest, times 1.4826 and
    sqrt(n/(n-p)): a fit passes through about one point per parameter (those residuals are ~0), and a plain MAD
    would shrink with them and flag ordinary noise. With fewer than :data:`OUTLIER_MIN_DOF` residual degrees of
    freedom no point can be told from noise, and none is flagged.
    """
    n = residuals.size
    centred = residuals - np.median(residuals) if n else residuals
    dof = n - n_free
    if dof < OUTLIER_MIN_DOF:
        return np.empty(0, dtype=int), centred
    spread = np.sort(np.abs(centred))[n_free:]
    scale = 1.4826 * float(np.median(spread)) * math.sqrt(n / dof)
    return np.flatnonzero(np.abs(centred) > max(5 * scale, 1e-12)), centred


def _distinct_points(X, n: int) -> int:
    """How many rows have inputs no other row has (copies of one run pin nothing more down)."""
    columns = [np.asarray(v, dtype=float).reshape(-1) for v in X.values() if np.size(v) == n]
    if not columns or n == 0:
        return n
    return int(np.unique(np.column_stack(columns), axis=0).shape[0])
