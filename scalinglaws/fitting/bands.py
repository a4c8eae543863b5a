"""Bands of predictions: a noise part from the spread of the parameters and of the runs, and a model-error part
that grows with the distance beyond the data.

**Noise part.** Every band starts from **parameter draws**: the converged replicates of a bootstrap
(:class:`~scalinglaws.fitting.resample.BootstrapResult`), or, for a plain fit, draws from the asymptotic
(sandwich) covariance of the fitted coordinates (log-scale parameters drawn log-normally, tied parameters
recomputed from the free ones, fixed ones held), 2,000 of them with a fixed seed. A derived quantity (a loss, an
N_opt) is computed for every draw and its ``level`` band is the central percentile interval of the draws.
``kind="observation"`` (the default for losses) adds to every draw a residual of the fit resampled with
replacement: the band of a new run's *measured* loss rather than of the law's mean.

**Model-error part** (:mod:`scalinglaws.fitting.calibration`): M = s·d, d the distance beyond the data in e-folds
and s calibrated by backtests inside the data, added in quadrature per side on the log scale:
log upper = log L̂ + sqrt(H_up² + M²), log lower = log L̂ − sqrt(H_lo² + M²). It is the default
(``model_error=True``); ``model_error=False`` gives the noise band alone, narrow beyond the data.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ..exceptions import ScalingLawsError

__all__ = ["KINDS", "ASYMPTOTIC_DRAWS", "asymptotic_draws", "percentile_band", "check_level", "band_table", "combine"]

#: What a band covers: the law's mean (``mean``) or a new run's measured loss (``observation``).
KINDS = ("mean", "observation")
#: Number of parameter draws taken from the asymptotic covariance of a fit without bootstrap replicates.
ASYMPTOTIC_DRAWS = 2000


def check_level(level: float) -> float:
    """The level of a band, checked: strictly between 0 and 1."""
    if not (isinstance(level, (int, float, np.floating)) and 0 < float(level) < 1):
        raise ScalingLawsError(f"level must be between 0 and 1 (e.g. 0.9), got {level!r}")
    return float(level)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ScalingLawsError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def asymptotic_draws(fit, n: int = ASYMPTOTIC_DRAWS, seed: int = 0) -> np.ndarray:
    """Parameter vectors (n, P) drawn from the fit's asymptotic normal distribution in the fitted coordinates.

    All NaN when the covariance could not be formed (the diagnostics say why).
    """
    law = fit.law
    free = [i for i, p in enumerate(law.params) if p.vary]
    values = np.asarray(fit.values, dtype=float)
    cov = np.asarray(fit.covariance, dtype=float)[np.ix_(free, free)]
    if not np.all(np.isfinite(cov)):
        return np.full((n, values.size), np.nan)
    log = np.array([law.params[i].log for i in free])
    scale = np.where(log, values[free], 1.0)  # d(natural)/d(theta): the value for log-scale parameters
    with np.errstate(divide="ignore", invalid="ignore"):
        cov_theta = cov / np.outer(scale, scale)
        theta = np.where(log, np.log(np.where(log, values[free], 1.0)), values[free])
    rng = np.random.default_rng([seed, 20241201])
    # a symmetric square root that tolerates a semi-definite covariance
    w, v = np.linalg.eigh((cov_theta + cov_theta.T) / 2)
    root = v * np.sqrt(np.clip(w, 0, None))
    draws = theta + rng.standard_normal((n, len(free))) @ root.T
    natural = np.where(log, np.exp(np.where(log, draws, 0.0)), draws)
    out = np.tile(values, (n, 1))
    out[:, free] = natural
    for p_index, p in enumerate(law.params):
        lo, hi = p.bounds
        if p.vary:
            out[:, p_index] = np.clip(out[:, p_index], lo, hi)
    if law.tie_order():
        known = {p.name: out[:, j] for j, p in enumerate(law.params) if p.tie is None}
        for j, value in enumerate(law.values_of(known)):
            out[:, j] = np.broadcast_to(np.asarray(value, dtype=float), (n,))
    return out


def band_table(result, data, inputs: Mapping, level: float, kind: str, model_error: bool = True) -> "pd.DataFrame":
    """The loss at the inputs (a DataFrame ``data`` or keyword arrays) with a ``level`` band of ``kind``: the noise
    part from ``result.parameter_draws()``, the model-error part from ``result.model_error`` (see the module
    docstring). Columns: the inputs, ``loss``, ``lower``, ``upper`` (the band), ``noise_lower``, ``noise_upper``
    (its noise part alone), ``model_error`` (the model-error half-width, log scale ≈ relative), ``distance``."""
    import pandas as pd

    from .extrapolation import distance

    level, kind = check_level(level), check_kind(kind)
    law = result.law
    source = dict(inputs) if data is None else {k: data[k] for k in law.inputs if k in data}
    X = {k: np.atleast_1d(v).astype(float) for k, v in law.inputs_of(source).items()}
    shape = np.broadcast_shapes(*(v.shape for v in X.values()))
    X = {k: np.broadcast_to(v, shape).ravel() for k, v in X.items()}
    draws, _ = result.parameter_draws()
    predictions = evaluate_draws(law, draws, X)
    if kind == "observation":
        predictions = predictions * observation_noise(result.residuals, predictions.shape, result.seed)
    center = np.asarray(result.predict(X), dtype=float).reshape(-1)
    d = distance(result.inputs, X)
    M = result.model_error.halfwidth(d, level) if model_error else np.zeros_like(center)
    return pd.DataFrame({**X, "loss": center, **combine(center, *percentile_band(predictions, level), M),
                         "distance": d})


def combine(center: np.ndarray, noise_lower: np.ndarray, noise_upper: np.ndarray, M: np.ndarray) -> dict:
    """The band from its noise part (lower/upper ends) and the model-error half-width ``M`` (log scale), added in
    quadrature per side: ``lower``, ``upper``, ``noise_lower``, ``noise_upper``, ``model_error``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        h_lo = np.clip(np.log(center) - np.log(noise_lower), 0, None)
        h_hi = np.clip(np.log(noise_upper) - np.log(center), 0, None)
        lower = center * np.exp(-np.sqrt(h_lo**2 + M**2))
        upper = center * np.exp(np.sqrt(h_hi**2 + M**2))
    return {"lower": lower, "upper": upper, "noise_lower": noise_lower, "noise_upper": noise_upper,
            "model_error": M}


def percentile_band(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the central ``level`` interval of ``draws`` (replicates along axis 0), NaN-aware."""
    lo, hi = 50 * (1 - level), 50 * (1 + level)
    draws = np.asarray(draws, dtype=float)
    if draws.shape[0] == 0:
        shape = draws.shape[1:]
        return np.full(shape, np.nan), np.full(shape, np.nan)
    with np.errstate(invalid="ignore"), _quiet():
        lower, upper = np.nanpercentile(draws, [lo, hi], axis=0)
    return lower, upper


def observation_noise(residuals: np.ndarray, shape, seed) -> np.ndarray:
    """Multiplicative noise exp(r) of ``shape`` (draws, targets), r resampled (seeded) from the fit's log residuals:
    one factor per draw, shared by every target, so the band at a target does not depend on which other targets are
    asked with it (each target's band is a marginal one)."""
    rng = np.random.default_rng([*np.atleast_1d(seed), 1])
    factors = np.exp(rng.choice(np.asarray(residuals, dtype=float), size=shape[0]))
    return np.broadcast_to(factors.reshape((-1,) + (1,) * (len(shape) - 1)), shape)


def evaluate_draws(law, draws: np.ndarray, X: Mapping[str, np.ndarray], chunk: int = 256) -> np.ndarray:
    """The law at inputs ``X`` (arrays of length m) for every parameter draw: shape (R, m)."""
    out = []
    for start in range(0, draws.shape[0], chunk):
        block = draws[start : start + chunk]
        with np.errstate(all="ignore"):
            values = law.evaluate(X, *[block[:, [j]] for j in range(block.shape[1])])
        m = len(next(iter(X.values()))) if X else 1
        out.append(np.broadcast_to(np.asarray(values, dtype=float), (block.shape[0], m)))
    return np.vstack(out) if out else np.empty((0, len(next(iter(X.values()))) if X else 0))


def interval_of(draws: np.ndarray, names, function: Callable[[dict], float], estimate: float,
                level: float) -> dict[str, float]:
    """Percentile interval of ``function(params)`` over parameter draws (rows of ``draws``)."""
    values = np.array([function(dict(zip(names, row))) for row in draws], dtype=float)
    lower, upper = percentile_band(values[:, None] if values.ndim == 1 else values, check_level(level))
    lower, upper = (float(np.squeeze(lower)), float(np.squeeze(upper))) if np.ndim(estimate) == 0 else (lower, upper)
    return {"estimate": estimate, "lower": lower, "upper": upper}


class _quiet:
    """Silence numpy's all-NaN-slice RuntimeWarning (an all-NaN column stays NaN)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
