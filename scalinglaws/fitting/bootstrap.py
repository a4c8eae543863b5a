"""Bootstrap uncertainty: refit the law on resampled data and read intervals off the replicates.

Two resampling schemes:

* ``"runs"`` (default): resample whole runs with replacement (all rows of a run go together, so checkpoints
  of one run are not treated as independent evidence).
* ``"residuals"``: keep every input, add resampled log residuals of the fit to its predictions
  (a residual bootstrap, for data without meaningful run structure).

**Every replicate is a full refit**: the whole start grid is screened on the replicate's data and its best
starts polished, as in :func:`~scalinglaws.fitting.optimize.fit`. Starting each refit only from the
full-data optimum (or from published values, as Epoch AI's replication notebook did) lets the optimizer stop
near its start and collapses the intervals. For run resampling the screening of all replicates costs one
matrix product: every start's per-point loss is computed once, and a replicate's screened objective is
that matrix times its counts of each point. With the default polish (``batched``) the chosen starts of all
replicates (of each worker's share) are then polished together in one vectorized solver
(:func:`~scalinglaws.fitting.batched.refit_replicates`), a replicate being the full data with each point
weighted by how often it was drawn.

Intervals are percentile intervals over the converged replicates; any derived quantity (a forecast loss,
N_opt, tokens per parameter) gets one from :meth:`BootstrapResult.interval`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .._parallel import run_tasks
from ..exceptions import FitError, ScalingLawsError
from .batched import refit_replicates
from .objective import Objective, rho
from .optimize import Fitter
from .result import FitResult
from .space import ParameterSpace

__all__ = ["bootstrap", "BootstrapResult", "METHODS", "resample_runs"]

METHODS = ("runs", "residuals")
#: Most (start × point) losses held at once while screening replicates.
_BLOCK = 4_000_000


def _frozen(a, dtype=float) -> np.ndarray:
    arr = np.array(a, dtype=dtype)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Replicate fits of a bootstrap. Immutable.

    Attributes
    ----------
    fit : FitResult
        The fit on the full data (the central estimate).
    values : ndarray (R, P)
        Parameter values of every replicate, in law order (NaN where a replicate failed).
    converged : ndarray of bool (R,)
        Which replicates converged; intervals use only those.
    method, seed : str, int
        Resampling scheme and seed; identical seeds give identical replicates on any backend.
    """

    fit: FitResult
    values: np.ndarray
    converged: np.ndarray
    method: str
    seed: int
    settings: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "values", _frozen(self.values))
        object.__setattr__(self, "converged", _frozen(self.converged, bool))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    @property
    def n_resamples(self) -> int:
        return int(self.values.shape[0])

    @property
    def law(self):
        return self.fit.law

    def samples(self, converged_only: bool = True) -> pd.DataFrame:
        """The replicate parameter values, one row per replicate."""
        values = self.values[self.converged] if converged_only else self.values
        return pd.DataFrame(values, columns=self.law.param_names)

    @staticmethod
    def _bounds(level: float) -> tuple[float, float]:
        if not 0 < level < 1:
            raise ScalingLawsError(f"level must be between 0 and 1, got {level}")
        return 50 * (1 - level), 50 * (1 + level)

    def ci(self, level: float = 0.9) -> pd.DataFrame:
        """Percentile interval of every parameter: param, estimate (full-data fit), lower, upper, bootstrap
        standard deviation."""
        lo, hi = self._bounds(level)
        good = self.values[self.converged]
        with np.errstate(invalid="ignore"):
            lower, upper = np.percentile(good, [lo, hi], axis=0) if len(good) else (np.nan, np.nan)
        return pd.DataFrame({"param": self.law.param_names, "estimate": self.fit.values,
                             "lower": lower, "upper": upper,
                             "std": np.std(good, axis=0, ddof=1) if len(good) > 1 else np.nan})

    def interval(self, function: Callable[[dict], float], level: float = 0.9) -> dict[str, float]:
        """Percentile interval of any derived quantity ``function(params)`` (params: name → value)::

            boot.interval(lambda p: p["beta"] / (p["alpha"] + p["beta"]))   # the N_opt exponent
            # {'estimate': 0.514, 'lower': 0.497, 'upper': 0.532}
        """
        lo, hi = self._bounds(level)
        names = self.law.param_names
        draws = np.array([function(dict(zip(names, row))) for row in self.values[self.converged]], dtype=float)
        with np.errstate(invalid="ignore"):
            lower, upper = np.nanpercentile(draws, [lo, hi], axis=0) if draws.size else (np.nan, np.nan)
        return {"estimate": function(self.fit.params), "lower": lower, "upper": upper}

    def _replicate_predictions(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        good = self.values[self.converged]
        return np.asarray(self.law.evaluate(X, *[good[:, [j]] for j in range(good.shape[1])]), dtype=float)

    def predict(self, level: float = 0.9, *, kind: str = "mean", data=None, **inputs) -> pd.DataFrame:
        """The fitted loss with a percentile band at the given inputs (like :meth:`FitResult.predict`).

        ``kind="mean"`` bands the law itself (parameter uncertainty); ``kind="observation"`` also adds a
        resampled residual of the fit to every replicate, a band for a new run's measured loss.
        """
        if kind not in ("mean", "observation"):
            raise ScalingLawsError(f"kind must be 'mean' or 'observation', got {kind!r}")
        source = dict(inputs) if data is None else {k: data[k] for k in self.law.inputs if k in data}
        X = {k: np.atleast_1d(v).astype(float) for k, v in self.law.inputs_of(source).items()}
        shape = np.broadcast_shapes(*(v.shape for v in X.values()))
        X = {k: np.broadcast_to(v, shape).ravel() for k, v in X.items()}
        draws = self._replicate_predictions(X)
        if kind == "observation":
            rng = np.random.default_rng([self.seed, 1])
            draws = draws * np.exp(rng.choice(self.fit.residuals, size=draws.shape))
        lo, hi = self._bounds(level)
        lower, upper = np.percentile(draws, [lo, hi], axis=0)
        return pd.DataFrame({**X, "loss": self.fit.predict(X), "lower": lower, "upper": upper})

    def compute_optimal(self, budgets, level: float = 0.9, **options) -> pd.DataFrame:
        """Compute-optimal allocation with percentile intervals: for each budget C, N_opt, D_opt,
        tokens_per_param and loss, each with ``_lower`` and ``_upper`` columns. ``options`` are those of
        :func:`~scalinglaws.forecast.allocation.compute_optimal` (FLOPs model, inference, unique tokens)."""
        import warnings

        from ..exceptions import ScalingLawsWarning
        from ..forecast.allocation import compute_optimal

        central = compute_optimal(self.fit, budgets, **options)
        names = self.law.param_names
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalingLawsWarning)  # a replicate without an optimum is a NaN draw
            rows = [compute_optimal(self.law, budgets, params=dict(zip(names, v)), **options)
                    for v in self.values[self.converged]]
        lo, hi = self._bounds(level)
        out = central.copy()
        for column in ("N_opt", "D_opt", "tokens_per_param", "loss"):
            draws = np.array([r[column].to_numpy() for r in rows])
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
                out[f"{column}_lower"], out[f"{column}_upper"] = np.nanpercentile(draws, [lo, hi], axis=0)
        return out

    def summary(self, level: float = 0.9) -> str:
        """Parameters with their bootstrap intervals, and how many replicates converged."""
        table = self.ci(level)
        lines = [f"Bootstrap of {self.law.name}: {self.n_resamples} replicates ({self.method} resampled, seed "
                 f"{self.seed}), {int(self.converged.sum())} converged; {100 * level:g}% percentile intervals",
                 f"  {'param':<12} {'estimate':>12} {'lower':>12} {'upper':>12} {'boot std':>10}"]
        for row in table.itertuples():
            lines.append(f"  {row.param:<12} {row.estimate:>12.6g} {row.lower:>12.6g} {row.upper:>12.6g} "
                         f"{row.std:>10.3g}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<BootstrapResult {self.law.name}: {self.n_resamples} replicates ({self.method}), "
                f"{int(self.converged.sum())} converged>")


def resample_runs(run_of_row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows of a bootstrap sample that draws whole runs with replacement (as many draws as runs).

    ``run_of_row[i]`` is the run (0 … K−1) of row i; every row of a drawn run is included, once per draw.

    >>> resample_runs(np.array([0, 0, 1, 2]), np.random.default_rng(2)).tolist()  # run 0 (rows 0, 1) twice
    [3, 0, 1, 0, 1]
    """
    n_runs = int(run_of_row.max()) + 1
    order = np.argsort(run_of_row, kind="stable")
    starts = np.searchsorted(run_of_row[order], np.arange(n_runs + 1))
    picks = rng.integers(0, n_runs, n_runs)
    return np.concatenate([order[starts[k] : starts[k + 1]] for k in picks])


def _chunks(n: int, parts: int) -> list[np.ndarray]:
    return [c for c in np.array_split(np.arange(n), max(1, min(n, parts))) if c.size]


def _refit(fitter: Fitter, law, X, y, rows: np.ndarray, starts: np.ndarray, screened: np.ndarray | None):
    """One replicate: the fit on the rows ``rows`` (or log-loss ``y`` as given), from the given starts."""
    space = ParameterSpace(law)
    Xr = {k: v[rows] for k, v in X.items()}
    objective = Objective(law, space, Xr, y[rows], loss=fitter.loss, delta=fitter.delta)
    if screened is None:
        screened = objective.values(starts)
    try:
        _, runs, best = fitter.search(objective, space, starts, screened)
    except FitError:
        return np.full(len(law.params), np.nan), False
    values = np.array([float(v[0, 0]) for v in space.natural(runs[best].x)])
    return values, bool(runs[best].success)


def _refit_many(fitter, law, X, y, plans) -> list:
    if fitter.polish == "batched" and law.batched_polish:  # every replicate's starts in one batched solver
        return refit_replicates(fitter, law, X, y, plans)
    return [_refit(fitter, law, X, y if plan[3] is None else plan[3], plan[0], plan[1], plan[2]) for plan in plans]


def bootstrap(fit: FitResult, n_resamples: int = 1000, *, method: str = "runs", seed: int = 0,
              top_k: int = 3, n_jobs: int = 1, scheduler=None, progress: bool | None = None) -> BootstrapResult:
    """Bootstrap a fit: ``n_resamples`` full refits on resampled data (see the module docstring).

    Parameters
    ----------
    fit : FitResult
        The fit to bootstrap; its law, data and fitter settings are reused.
    method : {"runs", "residuals"}
        Resample whole runs, or residuals added to the fitted values.
    seed : int
        Replicate r draws from ``numpy.random.SeedSequence(seed).spawn(...)[r]``: results do not depend
        on ``n_jobs`` or the backend.
    top_k : int
        Best-screened starts polished per replicate (the whole grid is always screened).
    n_jobs : int
        joblib worker processes (-1: every core).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead (``pip install 'scalinglaws[dask]'``).
    progress : bool, optional
        Show a progress bar (default: on an interactive terminal only).
    """
    if method not in METHODS:
        raise ScalingLawsError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if n_resamples < 2:
        raise ScalingLawsError(f"n_resamples must be at least 2, got {n_resamples}")
    law = fit.law
    fitter = Fitter.from_settings(fit.settings, top_k=top_k)
    X = {k: np.asarray(v, dtype=float) for k, v in fit.inputs.items()}
    y = np.asarray(fit.observed, dtype=float)
    n = y.size
    space = ParameterSpace(law)
    starts = fitter.start_points(law, space, X, y)
    generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_resamples)]

    if method == "runs":
        labels, run_of_row = np.unique(np.asarray(fit.runs, dtype=str), return_inverse=True)
        if labels.size < 3:
            raise ScalingLawsError(f"only {labels.size} runs: resampling runs needs more; use method='residuals'")
        rows = [resample_runs(run_of_row, g) for g in generators]
        counts = np.stack([np.bincount(r, minlength=n) for r in rows], axis=1).astype(float)  # (n, R)
        screened = _screen_counts(law, space, X, y, starts, counts, fitter)
        order = np.argsort(screened, axis=0, kind="stable")[: max(top_k, 1)]
        plans = [(rows[r], starts[order[:, r]], screened[order[:, r], r], None) for r in range(n_resamples)]
    else:
        predicted = y * np.exp(-np.asarray(fit.residuals))
        all_rows = np.arange(n)
        plans = [(all_rows, starts, None, predicted * np.exp(g.choice(fit.residuals, size=n))) for g in generators]

    workers = 1 if scheduler is None and n_jobs == 1 else (os.cpu_count() or 1) if n_jobs < 0 or scheduler else n_jobs
    chunks = _chunks(n_resamples, 4 * workers if workers > 1 else 1)
    tasks = [(fitter, law, X, y, [plans[i] for i in chunk]) for chunk in chunks]
    results = run_tasks(_refit_many, tasks, n_jobs=n_jobs, scheduler=scheduler, progress=progress,
                        description=f"bootstrap {law.name}")
    flat = [item for chunk in results for item in chunk]
    values = np.array([v for v, _ in flat])
    converged = np.array([ok for _, ok in flat], dtype=bool)
    return BootstrapResult(fit=fit, values=values, converged=converged, method=method, seed=seed,
                           settings={"top_k": top_k, "n_resamples": n_resamples, "fitter": dict(fitter._settings())})


def _screen_counts(law, space, X, y, starts, counts, fitter) -> np.ndarray:
    """Objective of every start on every replicate: ρ(residuals of each start at each point) @ counts."""
    objective = Objective(law, space, X, y, loss=fitter.loss, delta=fitter.delta)
    out = np.empty((len(starts), counts.shape[1]))
    step = max(1, _BLOCK // max(y.size, 1))
    for i in range(0, len(starts), step):
        with np.errstate(all="ignore"):
            per_point = rho(objective.residuals(starts[i : i + step]), fitter.loss, fitter.delta)
            block = per_point @ counts
        out[i : i + step] = np.where(np.isfinite(block), block, np.inf)
    return out
