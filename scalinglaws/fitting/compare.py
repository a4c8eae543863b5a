"""Backtesting and comparing laws: fit on the small runs, predict the large ones.

A law that fits the runs you have is not yet a law that extrapolates. :func:`backtest` holds out the
runs at the top of a scale (largest N, D or C), fits on the rest and reports the relative error of the
held-out predictions next to the in-range error; :func:`compare_laws` does it for several laws on the same
split and ranks them.

Errors are mean absolute relative errors of the loss, |L_pred/L_obs − 1|, over the training points
("in range") and over the held-out points ("held out").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .._parallel import run_tasks
from ..exceptions import FitError, ScalingLawsWarning
from ..laws.base import Law
from ..laws.registry import get_law
from ..schema import POINT_INPUTS, points_table
from .bands import check_level
from .optimize import Fitter
from .result import FitResult

__all__ = ["split_by_scale", "backtest", "compare_laws", "Backtest", "Comparison"]


def split_by_scale(data: pd.DataFrame, by: str = "C", *, cutoff: float | None = None,
                   holdout: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a table into (train, test): test holds the rows with ``by`` >= ``cutoff``.

    Without a cutoff, the ``holdout`` largest distinct values of ``by`` are held out (e.g. the largest model
    size, or the largest compute budget of an IsoFLOP sweep). Values are compared to 1e-9 relative.
    """
    if by not in data.columns:
        raise FitError(f"cannot split by {by!r}: the table has {', '.join(map(str, data.columns))}")
    values = data[by].to_numpy(dtype=float)
    if cutoff is None:
        distinct = np.unique(np.round(np.log(values), 9))
        if distinct.size <= holdout:
            raise FitError(f"only {distinct.size} distinct values of {by}; cannot hold out {holdout}")
        cutoff = float(np.exp(distinct[-holdout]))
    test = values >= cutoff * (1 - 1e-9)
    if test.all() or not test.any():
        raise FitError(f"splitting {by} at {cutoff:g} leaves nothing to {'fit' if test.all() else 'test'}")
    return data.loc[~test].reset_index(drop=True), data.loc[test].reset_index(drop=True)


def _relative_errors(result: FitResult, table: pd.DataFrame) -> np.ndarray:
    predicted = result.predict(table)
    return np.abs(predicted / table["loss"].to_numpy(dtype=float) - 1.0)


@dataclass(frozen=True, eq=False)
class Backtest:
    """One law fitted below a scale and judged on the runs above it (see :func:`backtest`).

    Attributes: ``law`` (name), ``fit`` (the fit on the training runs), ``train`` and ``heldout`` (tables: the
    held-out one with ``predicted``, ``lower``, ``upper``), ``by`` and ``cutoff`` (the split), ``level`` and
    ``band`` (where the band's spread comes from: ``"bootstrap"`` or ``"asymptotic"``).
    """

    law: str
    fit: FitResult
    train: pd.DataFrame
    heldout: pd.DataFrame
    by: str
    cutoff: float
    level: float
    band: str

    @property
    def in_range_error(self) -> float:
        """Mean |L_pred/L_obs − 1| over the training runs."""
        return float(np.mean(_relative_errors(self.fit, self.train)))

    @property
    def heldout_errors(self) -> np.ndarray:
        return np.abs(self.heldout["predicted"].to_numpy() / self.heldout["loss"].to_numpy() - 1.0)

    @property
    def heldout_error(self) -> float:
        """Mean |L_pred/L_obs − 1| over the held-out runs."""
        return float(np.mean(self.heldout_errors))

    @property
    def coverage(self) -> float:
        """Share of held-out runs whose loss lies inside their band."""
        h = self.heldout
        return float(((h["lower"] <= h["loss"]) & (h["loss"] <= h["upper"])).mean())

    @property
    def width(self) -> float:
        """Mean relative width of the held-out runs' bands, (upper − lower)/predicted."""
        h = self.heldout
        return float(np.mean((h["upper"] - h["lower"]) / h["predicted"]))

    def row(self) -> dict:
        """The backtest as one row of numbers (the columns of :attr:`Comparison.table`)."""
        return {"law": self.law, "n_train": len(self.train), "n_test": len(self.heldout),
                "converged": self.fit.converged, "warnings": len(self.fit.warnings),
                "in_range_error": self.in_range_error, "heldout_error": self.heldout_error,
                "heldout_max_error": float(np.max(self.heldout_errors)), "band_coverage": self.coverage,
                "band_width": self.width, "band": self.band, "aic": self.fit.aic, "bic": self.fit.bic}

    def summary(self) -> str:
        """The split and the errors, in words."""
        r = self.row()
        return (f"Backtest of {self.law}: fit on {r['n_train']} runs with {self.by} < {self.cutoff:.3g}, predict the "
                f"{r['n_test']} above; error in range {100 * r['in_range_error']:.2f}%, held out "
                f"{100 * r['heldout_error']:.2f}% (max {100 * r['heldout_max_error']:.2f}%); "
                f"{100 * r['band_coverage']:.0f}% of the held-out runs inside the {100 * self.level:g}% band "
                f"({self.band})")

    def tables(self) -> dict[str, pd.DataFrame]:
        """``backtest`` (one row) and the ``heldout`` runs."""
        return {"backtest": pd.DataFrame([self.row()]), "heldout": self.heldout}


@dataclass(frozen=True, eq=False)
class Comparison:
    """Several laws backtested on the same split (:func:`compare_laws`): ``backtests`` (best held-out error first)
    and :attr:`table`, one row per law with ``delta_aic``/``delta_bic`` to the best on the training runs."""

    backtests: tuple[Backtest, ...]

    @property
    def table(self) -> pd.DataFrame:
        frame = pd.DataFrame([b.row() for b in self.backtests])
        frame["delta_aic"] = frame["aic"] - frame["aic"].min()
        frame["delta_bic"] = frame["bic"] - frame["bic"].min()
        return frame

    def summary(self) -> str:
        """A ranked table of the laws, as the command line prints it."""
        first = self.backtests[0]
        lines = [f"Backtest: fit on {len(first.train)} runs with {first.by} < {first.cutoff:.3g}, predict the "
                 f"{len(first.heldout)} runs above; {100 * first.level:g}% bands ({first.band})",
                 f"  {'law':<18} {'converged':>9} {'in-range':>9} {'held-out':>9} {'max':>7} {'in band':>8} "
                 f"{'AIC':>10} {'dAIC':>7} {'BIC':>10} {'dBIC':>7}"]
        for row in self.table.itertuples():
            band = "-" if np.isnan(row.band_coverage) else f"{100 * row.band_coverage:.0f}%"
            lines.append(f"  {row.law:<18} {'yes' if row.converged else 'NO':>9} {100 * row.in_range_error:>8.2f}% "
                         f"{100 * row.heldout_error:>8.2f}% {100 * row.heldout_max_error:>6.2f}% {band:>8} "
                         f"{row.aic:>10.1f} {row.delta_aic:>7.1f} {row.bic:>10.1f} {row.delta_bic:>7.1f}")
        lines.append("Errors: mean |predicted/observed - 1| over the fitted (in-range) and held-out runs; AIC/BIC on "
                     "the fitted runs.")
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``backtest``: one row per law."""
        return {"backtest": self.table}


def backtest(law: str | Law, data: pd.DataFrame, *, by: str = "C", cutoff: float | None = None, holdout: int = 1,
             fitter: Fitter | None = None, columns: Mapping[str, str] | None = None, bootstrap: int = 0,
             level: float = 0.9, model_error: bool = True, seed: int = 0, n_jobs: int = 1, scheduler=None,
             progress: bool | None = None) -> Backtest:
    """Fit ``law`` on the rows below the split (see :func:`split_by_scale`) and predict the rows above.

    Every held-out run gets the default ``level`` band of a forecast (:mod:`scalinglaws.fitting.bands`): a new
    run's measured loss, its noise part from ``bootstrap`` replicates when ``bootstrap`` > 0, else from the fit's
    asymptotic covariance, and the model error calibrated inside the training runs (``model_error=False``: the
    noise part alone). Returns a :class:`Backtest`.
    """
    from .resample import bootstrap as run_bootstrap

    check_level(level)
    law = get_law(law)
    table = points_table(data, columns=columns, require=[k for k in law.inputs if k in POINT_INPUTS])
    if "exclude" in table.columns:
        table = table.loc[~table["exclude"].to_numpy(dtype=bool)].drop(columns="exclude")
    train, test = split_by_scale(table, by, cutoff=cutoff, holdout=holdout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # kept in the result's diagnostics
        result = (fitter or Fitter()).fit(law, train)
    source = result
    if bootstrap:
        source = run_bootstrap(result, bootstrap, seed=seed, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
    band = source.band(test, level=level, kind="observation", model_error=model_error)
    heldout = test[[*law.inputs, "loss"]].copy()
    heldout["predicted"] = result.predict(test)
    heldout["lower"], heldout["upper"] = band["lower"].to_numpy(), band["upper"].to_numpy()
    edge = float(test[by].min())
    return Backtest(law=law.name, fit=result, train=train, heldout=heldout, by=by,
                    cutoff=float(cutoff) if cutoff is not None else edge, level=level,
                    band=("bootstrap" if bootstrap else "asymptotic") + (" + model error" if model_error else ""))


def compare_laws(laws: Sequence[str | Law], data: pd.DataFrame, *, by: str = "C", cutoff: float | None = None,
                 holdout: int = 1, fitter: Fitter | None = None, columns: Mapping[str, str] | None = None,
                 bootstrap: int = 0, level: float = 0.9, model_error: bool = True, seed: int = 0, n_jobs: int = 1,
                 scheduler=None, progress: bool | None = None) -> Comparison:
    """:func:`backtest` every law on the same split; a :class:`Comparison`, best held-out error first.

    Without a bootstrap the laws are fitted in parallel (``n_jobs``, ``scheduler``); with one, each law's
    bootstrap replicates are.
    """
    laws = [get_law(law) for law in laws]
    if not laws:
        raise FitError("give at least one law to compare")
    options = dict(by=by, cutoff=cutoff, holdout=holdout, fitter=fitter, columns=columns, level=level,
                   model_error=model_error, seed=seed)
    if bootstrap:
        results = [backtest(law, data, bootstrap=bootstrap, n_jobs=n_jobs, scheduler=scheduler, progress=progress,
                            **options) for law in laws]
    else:
        results = run_tasks(_backtest_task, [(law, data, options) for law in laws], n_jobs=n_jobs,
                            scheduler=scheduler, progress=progress, description="backtest")
    return Comparison(tuple(sorted(results, key=lambda b: b.heldout_error)))


def _backtest_task(law, data, options) -> Backtest:
    return backtest(law, data, **options)
