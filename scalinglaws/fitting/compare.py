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
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .._parallel import run_tasks
from ..exceptions import FitError, ScalingLawsWarning
from ..laws.base import Law
from ..laws.registry import get_law
from ..schema import POINT_INPUTS, points_table
from .optimize import Fitter
from .result import FitResult

__all__ = ["split_by_scale", "backtest", "compare_laws"]


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


def backtest(law: str | Law, data: pd.DataFrame, *, by: str = "C", cutoff: float | None = None, holdout: int = 1,
             fitter: Fitter | None = None, columns: Mapping[str, str] | None = None, bootstrap: int = 0,
             level: float = 0.9, seed: int = 0, n_jobs: int = 1, scheduler=None,
             progress: bool | None = None) -> dict:
    """Fit ``law`` on the rows below the split (see :func:`split_by_scale`) and predict the rows above.

    With ``bootstrap`` > 0 replicates, the held-out runs also get a ``level`` band for a new run's loss
    (:meth:`BootstrapResult.predict` with ``kind="observation"``) and the share of held-out runs inside it.

    Returns a dict: law, n_train, n_test, converged, warnings, in_range_error, heldout_error (means of
    |L_pred/L_obs − 1|), heldout_max_error, band_coverage and band_width (mean relative width; NaN without a
    bootstrap), aic, bic, the fit under ``fit`` and a table of the held-out runs under ``heldout``
    (inputs, loss, predicted, lower, upper).
    """
    from .bootstrap import bootstrap as run_bootstrap

    law = get_law(law)
    table = points_table(data, columns=columns, require=[k for k in law.inputs if k in POINT_INPUTS])
    if "exclude" in table.columns:
        table = table.loc[~table["exclude"].to_numpy(dtype=bool)].drop(columns="exclude")
    train, test = split_by_scale(table, by, cutoff=cutoff, holdout=holdout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # kept in the result's warnings
        result = (fitter or Fitter()).fit(law, train)
    held_out = _relative_errors(result, test)
    heldout = test[[*law.inputs, "loss"]].copy()
    heldout["predicted"] = result.predict(test)
    coverage = width = np.nan
    if bootstrap:
        band = run_bootstrap(result, bootstrap, seed=seed, n_jobs=n_jobs, scheduler=scheduler,
                             progress=progress).predict(level, kind="observation", data=test)
        heldout["lower"], heldout["upper"] = band["lower"].to_numpy(), band["upper"].to_numpy()
        inside = (heldout["lower"] <= heldout["loss"]) & (heldout["loss"] <= heldout["upper"])
        coverage = float(inside.mean())
        width = float(np.mean((heldout["upper"] - heldout["lower"]) / heldout["predicted"]))
    return {"law": law.name, "n_train": len(train), "n_test": len(test), "converged": result.converged,
            "warnings": len(result.warnings), "in_range_error": float(np.mean(_relative_errors(result, train))),
            "heldout_error": float(np.mean(held_out)), "heldout_max_error": float(np.max(held_out)),
            "band_coverage": coverage, "band_width": width, "aic": result.aic, "bic": result.bic,
            "fit": result, "heldout": heldout}


def compare_laws(laws: Sequence[str | Law], data: pd.DataFrame, *, by: str = "C", cutoff: float | None = None,
                 holdout: int = 1, fitter: Fitter | None = None, columns: Mapping[str, str] | None = None,
                 bootstrap: int = 0, level: float = 0.9, seed: int = 0, n_jobs: int = 1, scheduler=None,
                 progress: bool | None = None) -> pd.DataFrame:
    """:func:`backtest` every law on the same split; one row per law, best held-out error first.

    Adds ``delta_aic`` and ``delta_bic`` (difference to the best law on the training runs). Without a
    bootstrap the laws are fitted in parallel (``n_jobs``, ``scheduler``); with one, each law's bootstrap
    replicates are. The ``fit`` and ``heldout`` columns hold each law's fit and held-out table.
    """
    laws = [get_law(law) for law in laws]
    if not laws:
        raise FitError("give at least one law to compare")
    options = dict(by=by, cutoff=cutoff, holdout=holdout, fitter=fitter, columns=columns, level=level, seed=seed)
    if bootstrap:
        rows = [backtest(law, data, bootstrap=bootstrap, n_jobs=n_jobs, scheduler=scheduler, progress=progress,
                         **options) for law in laws]
    else:
        rows = run_tasks(_backtest_task, [(law, data, options) for law in laws], n_jobs=n_jobs,
                         scheduler=scheduler, progress=progress, description="backtest")
    frame = pd.DataFrame(rows)
    frame["delta_aic"] = frame["aic"] - frame["aic"].min()
    frame["delta_bic"] = frame["bic"] - frame["bic"].min()
    return frame.sort_values("heldout_error", kind="stable").reset_index(drop=True)


def _backtest_task(law, data, options) -> dict:
    return backtest(law, data, **options)
