"""Intervals from the likelihood, and the way to lmfit's tools.

* :func:`profile_interval`: profile-likelihood interval of one parameter. The parameter is held at values
  on a grid, every other parameter refitted (full start screening at every point), and the interval is where
  2·(loglik_max − loglik_profile) stays below the chi-square quantile. The log-likelihood is the one the fit
  reports (the density whose maximum is the Huber fit, with its scale maximised), so the interval follows the
  shape of the objective instead of a quadratic approximation.
* :func:`to_lmfit_minimizer`: an :class:`lmfit.Minimizer` over the fit's log residuals, started at the fit,
  for ``lmfit.conf_interval`` or a posterior with ``Minimizer.emcee`` (needs the ``emcee`` package). lmfit
  works with least squares, i.e. a Gaussian likelihood on log residuals, not the Huber loss.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import ScalingLawsError, ScalingLawsWarning
from .objective import Objective
from .optimize import Fitter
from .result import FitResult
from .space import ParameterSpace

__all__ = ["profile_interval", "to_lmfit_minimizer"]


def _profile_fit(fit: FitResult, name: str, value: float, fitter: Fitter) -> float:
    data = pd.DataFrame({**{k: np.asarray(v) for k, v in fit.inputs.items()}, "loss": fit.observed,
                         "run": fit.runs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)
        refit = fitter.fit(fit.law.fix(**{name: value}), data)
    return refit.loglik


def profile_interval(fit: FitResult, name: str, level: float = 0.9, *, points: int = 21,
                     span: float = 4.0) -> dict:
    """Profile-likelihood interval of parameter ``name``.

    The profile is evaluated at ``points`` values spanning ±``span`` standard errors around the estimate (on
    the log scale for log-scale parameters, inside the bounds), and the interval ends are interpolated where
    the likelihood-ratio statistic crosses the chi-square(1) quantile of ``level``. An end that is not
    reached inside the span is reported as the bound of the scan with ``open_lower``/``open_upper`` True.

    Returns a dict: estimate, lower, upper, open_lower, open_upper, level, and ``profile`` (a DataFrame of
    value, loglik, statistic).
    """
    param = fit.law.param(name)
    if not param.vary:
        raise ScalingLawsError(f"parameter {name} is {param.status}; only fitted parameters have a profile")
    if not 0 < level < 1:
        raise ScalingLawsError(f"level must be between 0 and 1, got {level}")
    j = fit.law.param_names.index(name)
    value, se = float(fit.values[j]), float(fit.stderr[j])
    if not np.isfinite(se) or se <= 0:
        se = 0.1 * abs(value) or 0.1
    lo_b, hi_b = param.bounds
    if param.log:
        half = span * se / value
        grid = value * np.exp(np.linspace(-half, half, points))
    else:
        grid = value + np.linspace(-span * se, span * se, points)
    grid = np.unique(np.clip(np.append(grid, value), lo_b, hi_b))
    fitter = Fitter.from_settings(fit.settings, top_k=min(int(fit.settings.get("top_k", 8)), 4))
    loglik = np.array([_profile_fit(fit, name, v, fitter) for v in grid])
    best = max(fit.loglik, float(np.max(loglik)))
    statistic = 2 * (best - loglik)
    from scipy.stats import chi2
    threshold = float(chi2.ppf(level, 1))
    centre = int(np.argmin(statistic))

    def crossing(indices) -> tuple[float, bool]:
        previous = centre
        for i in indices:
            if statistic[i] > threshold:
                s0, s1 = statistic[previous], statistic[i]
                t = (threshold - s0) / (s1 - s0) if s1 != s0 else 0.0
                x0, x1 = (np.log(grid[previous]), np.log(grid[i])) if param.log else (grid[previous], grid[i])
                x = x0 + t * (x1 - x0)
                return (float(np.exp(x)) if param.log else float(x)), False
            previous = i
        return float(grid[indices[-1]] if len(indices) else grid[centre]), True

    lower, open_lower = crossing(list(range(centre - 1, -1, -1)))
    upper, open_upper = crossing(list(range(centre + 1, grid.size)))
    return {"estimate": value, "lower": lower, "upper": upper, "open_lower": open_lower, "open_upper": open_upper,
            "level": level, "profile": pd.DataFrame({"value": grid, "loglik": loglik, "statistic": statistic})}


def to_lmfit_minimizer(fit: FitResult):
    """An :class:`lmfit.Minimizer` whose residuals are the fit's log residuals, starting at the fit.

    Example::

        mini = to_lmfit_minimizer(fit)
        result = mini.minimize(method="leastsq")          # least squares on log loss
        ci = lmfit.conf_interval(mini, result)            # F-test intervals
        posterior = mini.emcee(params=result.params)      # needs `pip install emcee`
    """
    import lmfit

    law = fit.law
    space = ParameterSpace(law)
    objective = Objective(law, space, {k: np.asarray(v) for k, v in fit.inputs.items()}, fit.observed, loss="l2")
    names = law.param_names

    def residual(params):
        values = [params[n].value for n in names]
        theta = space.to_theta(values)
        return objective.residuals(theta)[0]

    return lmfit.Minimizer(residual, fit.to_lmfit(), nan_policy="raise")
