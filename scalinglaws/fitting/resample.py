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
N_opt, tokens per parameter) gets one from :meth:`BootstrapResult.interval`, and the forecasting functions take a
bootstrap wherever they take a fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .._parallel import run_tasks, show_progress, valid_n_jobs, worker_count
from .._threads import one_thread
from ..exceptions import FitError, InputError, ScalingLawsError
from .bands import band_table, check_level, interval_of, percentile_band
from .batched import refit_replicates
from .objective import Objective, rho
from .optimize import Fitter
from .result import FitResult, _dec, _dec_array, _enc, dump_json, parse_json
from .space import ParameterSpace

__all__ = ["bootstrap", "BootstrapResult", "METHODS", "resample_runs"]

#: Resampling schemes: whole runs with replacement, or residuals added to the fitted values.
METHODS = ("runs", "residuals")
_FORMAT = "scalinglaws.BootstrapResult"
_FORMAT_VERSION = 1
#: Most (start × point) losses held at once while screening replicates.
_BLOCK = 4_000_000


def _frozen(a, dtype=float) -> np.ndarray:
    arr = np.array(a, dtype=dtype)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Replicate fits of a bootstrap. Immutable.

    It answers the same questions as a :class:`~scalinglaws.fitting.result.FitResult`, with the same signatures:
    :meth:`predict` (the full-data fit's loss), :meth:`band` and :meth:`interval` (from the replicates instead
    of the asymptotic covariance), ``summary()``, ``tables()``; functions that take a fit take either.

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

    @property
    def residuals(self) -> np.ndarray:
        """The full-data fit's log residuals."""
        return self.fit.residuals

    @property
    def inputs(self) -> Mapping[str, np.ndarray]:
        """The full-data fit's inputs (the fitted points)."""
        return self.fit.inputs

    def samples(self, converged_only: bool = True) -> pd.DataFrame:
        """The replicate parameter values, one row per replicate."""
        values = self.values[self.converged] if converged_only else self.values
        return pd.DataFrame(values, columns=self.law.param_names)

    #: Where the spread of :meth:`band` comes from.
    band_source = "bootstrap"

    @property
    def band_description(self) -> str:
        """Where the spread of :meth:`band` comes from, in words."""
        return f"{int(self.converged.sum())} bootstrap replicates ({self.method} resampled)"

    def parameter_draws(self) -> tuple[np.ndarray, str]:
        """The converged replicates' parameter vectors (rows, law order), and ``"bootstrap"``."""
        return self.values[self.converged], self.band_source

    def ci(self, level: float = 0.9) -> pd.DataFrame:
        """Percentile interval of every parameter: param, estimate (full-data fit), lower, upper, bootstrap
        standard deviation."""
        good = self.values[self.converged]
        lower, upper = percentile_band(good, check_level(level))
        return pd.DataFrame({"param": self.law.param_names, "estimate": self.fit.values,
                             "lower": lower, "upper": upper,
                             "std": np.std(good, axis=0, ddof=1) if len(good) > 1 else np.nan})

    def predict(self, data=None, **inputs):
        """The full-data fit's predicted loss, like :meth:`FitResult.predict`."""
        return self.fit.predict(data, **inputs)

    @property
    def model_error(self):
        """The full-data fit's calibrated model error (:attr:`FitResult.model_error`)."""
        return self.fit.model_error

    def band(self, data=None, *, level: float = 0.9, kind: str = "observation", model_error: bool = True,
             **inputs) -> pd.DataFrame:
        """The predicted loss with its ``level`` band (like :meth:`FitResult.band`), the noise part from the
        replicates: ``kind="mean"`` bands the law itself (parameter uncertainty); ``kind="observation"`` (the
        default) also adds a resampled residual of the fit to every replicate, a band for a new run's measured
        loss; the model error is added unless ``model_error=False``."""
        return band_table(self, data, inputs, level, kind, model_error)

    def interval(self, function: Callable[[dict], float], level: float = 0.9) -> dict[str, float]:
        """Percentile interval of any derived quantity ``function(params)`` (params: name → value)::

            boot.interval(lambda p: p["beta"] / (p["alpha"] + p["beta"]))   # the N_opt exponent
            # {'estimate': 0.514, 'lower': 0.497, 'upper': 0.532}
        """
        draws, _ = self.parameter_draws()
        return interval_of(draws, self.law.param_names, function, function(self.fit.params), level)

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

    def tables(self, level: float = 0.9) -> dict[str, pd.DataFrame]:
        """The fit's tables and the bootstrap ``intervals``."""
        return {**self.fit.tables(), "intervals": self.ci(level)}

    def to_dict(self) -> dict:
        """Plain data: the fit's :meth:`~FitResult.to_dict` and the replicates."""
        return {"format": _FORMAT, "version": _FORMAT_VERSION, "fit": self.fit.to_dict(),
                "values": _enc(self.values), "converged": [bool(c) for c in self.converged], "method": self.method,
                "seed": int(self.seed), "settings": _enc(dict(self.settings))}

    @classmethod
    def from_dict(cls, d: Mapping) -> "BootstrapResult":
        """Inverse of :meth:`to_dict`; :class:`InputError` for a damaged record."""
        if not isinstance(d, Mapping) or d.get("format") != _FORMAT:
            raise InputError("not a scalinglaws bootstrap result", hint="give a file written by scalinglaws")
        fit = FitResult.from_dict(d["fit"])
        try:
            values = _dec_array(d["values"]).reshape(-1, len(fit.law.params))
            converged = np.array(d["converged"], dtype=bool)
            if converged.shape != (values.shape[0],) or d["method"] not in METHODS:
                raise ValueError("replicates and their flags do not match")
            return cls(fit=fit, values=values, converged=converged, method=d["method"], seed=int(d["seed"]),
                       settings=_dec(d.get("settings", {})))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"bootstrap replicates are incomplete or damaged ({err})",
                             hint="run the bootstrap again (scalinglaws fit --bootstrap N --out ...)") from None

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict` (write it with :func:`scalinglaws.save`)."""
        return dump_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "BootstrapResult":
        """A bootstrap from JSON text written by :meth:`to_json`."""
        return cls.from_dict(parse_json(text))

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
    with one_thread():  # in this process or a worker: small dense problems, one thread each
        if fitter.polish == "batched" and law.batched_polish:  # every replicate's starts in one batched solver
            return refit_replicates(fitter, law, X, y, plans)
        return [_refit(fitter, law, X, y if plan[3] is None else plan[3], plan[0], plan[1], plan[2])
                for plan in plans]


def bootstrap(fit: FitResult, n_resamples: int = 1000, *, method: str = "auto", seed: int = 0,
              top_k: int = 3, n_jobs: int = 1, scheduler=None, progress: bool | None = None) -> BootstrapResult:
    """Bootstrap a fit: ``n_resamples`` full refits on resampled data (see the module docstring).

    Parameters
    ----------
    fit : FitResult
        The fit to bootstrap; its law, data and fitter settings are reused.
    method : {"auto", "runs", "residuals"}
        Resample whole runs, or residuals added to the fitted values; ``auto``: runs when there are at least 3,
        else residuals (the result's ``method`` says which).
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
    if method == "auto":
        method = "runs" if np.unique(np.asarray(fit.runs, dtype=str)).size >= 3 else "residuals"
    if method not in METHODS:
        raise ScalingLawsError(f"method must be auto or one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) or n_resamples < 2:
        raise ScalingLawsError(f"n_resamples must be at least 2, got {n_resamples}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ScalingLawsError(f"seed must be a whole number >= 0, got {seed!r}; give e.g. seed=0 (--seed 0)")
    if not valid_n_jobs(n_jobs):
        raise ScalingLawsError(f"n_jobs must be a number of processes >= 1, or -1 for every core, got {n_jobs!r} "
                               "(--n-jobs)")
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
        with one_thread():
            screened = _screen_counts(law, space, X, y, starts, counts, fitter)
        order = np.argsort(screened, axis=0, kind="stable")[: max(top_k, 1)]
        plans = [(rows[r], starts[order[:, r]], screened[order[:, r], r], None) for r in range(n_resamples)]
    else:
        predicted = y * np.exp(-np.asarray(fit.residuals))
        all_rows = np.arange(n)
        plans = [(all_rows, starts, None, predicted * np.exp(g.choice(fit.residuals, size=n))) for g in generators]

    workers = (os.cpu_count() or 1) if scheduler is not None else worker_count(n_jobs)
    # one task per worker would leave a progress bar at 0/1 until the end: with a bar, at least 10 tasks (a
    # replicate's result does not depend on the others polished with it, so the numbers are the same)
    pieces = 4 * workers if workers > 1 else 1
    if show_progress(progress):
        pieces = max(pieces, 10)
    chunks = _chunks(n_resamples, pieces)
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
