"""Compute-optimal allocation: the model size N and token count D that minimise loss for a FLOP budget.

The budget constraint is  C = f(N, D) + 2·N·I:  training FLOPs f (k·N·D with k = 6 by default, or any
user formula, e.g. one counting attention FLOPs) plus inference FLOPs of I expected inference tokens at
2 FLOPs per parameter per token (Sardana et al. 2024). Optionally the unique tokens are capped at U and
repeated data are discounted with the data-constrained law (Muennighoff et al. 2023).

Laws with a closed form (Chinchilla under C = k·N·D: N_opt = G·(C/k)^(β/(α+β)), G = (αA/(βB))^(1/(α+β))) use
it; every other case is a bounded 1-D minimisation of L(N, D(N)) over log N, refined to ~1e-10 relative by
a root of the slope along the constraint.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd

from ..exceptions import LawError, ScalingLawsError, ScalingLawsWarning, warn
from ..fitting.bands import check_kind, check_level, combine, observation_noise, percentile_band
from ..fitting.extrapolation import distance
from ..fitting.resample import BootstrapResult
from ..fitting.result import FitResult
from ..laws.base import Law
from ..laws.data_constrained import DataConstrained
from ..laws.expression import Expression
from ..laws.registry import get_law
from .powerfit import PowerFit, fit_power_law

__all__ = ["compute_optimal", "frontier", "inference_optimal", "PUBLISHED_REPETITION"]

#: Decay constants of repeated data and excess parameters, Muennighoff et al. 2023 (LAWS.md §10).
PUBLISHED_REPETITION = {"R_D_star": 15.387756, "R_N_star": 5.309743}
_CHINCHILLA_NAMES = ("E", "A", "B", "alpha", "beta")


def _law_and_values(fit, params) -> tuple[Law, tuple]:
    """The law and its parameter values from a fit, a bootstrap (its full-data fit), or a law with ``params``."""
    if isinstance(fit, (FitResult, BootstrapResult)):
        central = fit.fit if isinstance(fit, BootstrapResult) else fit
        return central.law, tuple(float(v) for v in central.values)
    law = get_law(fit)
    if params is None:
        raise ScalingLawsError(f"give params=... with the values of {', '.join(law.param_names)}")
    return law, tuple(float(v) for v in law.values_of(params))


def _loss_function(law: Law, unique_tokens, repetition) -> Callable:
    """L(N, D, values) for arrays N, D and parameter values (scalars, or (R, 1) arrays for R draws), with
    repetition of U unique tokens when a cap is given."""
    capabilities = law.capabilities
    if unique_tokens is None:
        if capabilities.allocation is None:
            raise LawError(f"compute-optimal allocation needs a law of N and D; '{law.name}' takes "
                           f"{', '.join(law.inputs)} (a data-constrained law needs unique_tokens)")
        return lambda N, D, values: np.asarray(law.evaluate({"N": N, "D": D}, *values), dtype=float)
    U = float(unique_tokens)
    if not (U > 0 and np.isfinite(U)):
        raise ScalingLawsError(f"unique_tokens must be a positive number of tokens, got {unique_tokens!r}")
    if capabilities.unique_tokens:
        return lambda N, D, values: np.asarray(law.evaluate({"N": N, "D": D, "U": np.full_like(N, U)}, *values),
                                               dtype=float)
    if not capabilities.chinchilla_terms:
        raise LawError(f"a cap on unique tokens needs a Chinchilla-type law (E, A, B, alpha, beta) or the "
                       f"data-constrained law; '{law.name}' is neither")
    dc = DataConstrained()
    index = [law.param_names.index(k) for k in _CHINCHILLA_NAMES]
    extra = {**PUBLISHED_REPETITION, **(repetition or {})}

    def loss(N, D, values):
        named = {k: values[i] for k, i in zip(_CHINCHILLA_NAMES, index)}
        dc_values = dc.values_of({**named, **extra})
        return np.asarray(dc.evaluate({"N": N, "D": D, "U": np.full_like(N, U)}, *dc_values), dtype=float)
    return loss


def _tokens_function(flops, flops_per_token: float, inference_tokens: float) -> Callable:
    """D(N, C) from the budget constraint C = f(N, D) + 2·N·I (NaN where no positive D fits)."""
    inference = 2.0 * inference_tokens
    if flops is None:
        def tokens(N, C):
            D = (C - inference * N) / (flops_per_token * N)
            return np.where(D > 0, D, np.nan)
        return tokens
    f = Expression(flops) if isinstance(flops, str) else flops
    if isinstance(f, Expression) and not f.names <= {"N", "D"}:
        raise LawError(f"flops {flops!r} uses {', '.join(sorted(f.names - {'N', 'D'}))}: a FLOPs formula is an "
                       "expression in N and D only (e.g. '6*N*D')")
    call = (lambda N, D: float(f(N=N, D=D))) if isinstance(f, Expression) else (lambda N, D: float(f(N, D)))
    _check_flops(call, flops)

    def tokens(N, C):
        out = []
        for n in np.atleast_1d(N):
            budget = C - inference * n
            g = lambda log_d: np.log(call(n, np.exp(log_d))) - np.log(budget)  # noqa: E731
            if budget <= 0 or g(-30.0) > 0 or g(120.0) < 0:
                out.append(np.nan)
            else:
                from scipy.optimize import brentq

                out.append(np.exp(brentq(g, -30.0, 120.0, xtol=1e-13)))
        return np.asarray(out) if np.ndim(N) else out[0]
    return tokens


def _check_flops(call: Callable, flops) -> None:
    """Refuse a FLOPs formula that is not positive, finite and growing with D over model sizes 1e6..1e13 and
    token counts 1e6..1e15 (``N-D`` would give negative compute, and no budget a token count)."""
    grid_n, grid_d = np.geomspace(1e6, 1e13, 8), np.geomspace(1e6, 1e15, 10)
    with np.errstate(all="ignore"):
        try:
            values = np.array([[call(n, d) for d in grid_d] for n in grid_n])
        except (ArithmeticError, ValueError, TypeError) as err:
            raise LawError(f"flops {flops!r} cannot be evaluated ({err}); give training FLOPs as an expression in "
                           "N and D, e.g. '6*N*D'") from None
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any() or not np.all(np.diff(values, axis=1) > 0):
        i, j = np.unravel_index(int(np.argmax(bad)) if bad.any() else 0, values.shape)
        raise LawError(f"flops {flops!r} gives {values[i, j]:.3g} at N = {grid_n[i]:.3g}, D = {grid_d[j]:.3g}: training "
                       "FLOPs must be positive, finite and grow with D; give e.g. '6*N*D' (or '6*N*D + 12*L*S*d*D')")


def _search_range(C: float, k: float, inference_tokens: float) -> tuple[float, float]:
    """The log N interval searched for a budget: 14 e-folds either side of √(C/k), below the inference cap."""
    center = 0.5 * np.log(C / k)
    hi = center + 14.0
    if inference_tokens > 0:
        hi = min(hi, np.log(C / (2.0 * inference_tokens)) - 1e-9)
    return center - 14.0, hi


def _argmin_n(loss: Callable, values: tuple, tokens: Callable, C: float, k: float, inference_tokens: float) -> float:
    """argmin over N of L(N, D(N)), searched in log N around √(C/k), then refined on the slope."""
    lo, hi = _search_range(C, k, inference_tokens)
    if not lo < hi:
        return float("nan")

    def objective(log_n: float) -> float:
        n = np.exp(log_n)
        d = tokens(np.array([n]), C)
        with np.errstate(all="ignore"):
            value = loss(np.array([n]), np.atleast_1d(d), values)[0] if np.all(np.isfinite(d)) else np.inf
        return float(value) if np.isfinite(value) else 1e300

    from scipy.optimize import brentq, minimize_scalar

    res = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10, "maxiter": 500})
    if res.x - lo < 0.1 or hi - res.x < 0.1 or res.fun >= 1e300:
        return float("nan")

    def slope(log_n: float) -> float:
        return (objective(log_n + 1e-6) - objective(log_n - 1e-6)) / 2e-6

    a, b = max(res.x - 0.05, lo), min(res.x + 0.05, hi)
    if slope(a) < 0 < slope(b):
        return float(np.exp(brentq(slope, a, b, xtol=1e-14, rtol=1e-15)))
    return float(np.exp(res.x))


def _argmin_batch(loss: Callable, draws: np.ndarray, tokens: Callable, C: float, k: float,
                  inference_tokens: float) -> np.ndarray:
    """argmin over N of L(N, D(N)) for every parameter draw at once (rows of ``draws``): a golden-section search
    in log N over the same interval as :func:`_argmin_n`, to ~1e-12 in log N; NaN without an interior optimum."""
    lo, hi = _search_range(C, k, inference_tokens)
    R = draws.shape[0]
    if not lo < hi or R == 0:
        return np.full(R, np.nan)
    values = tuple(draws[:, [j]] for j in range(draws.shape[1]))

    def f(log_n: np.ndarray) -> np.ndarray:
        n = np.exp(log_n)[:, None]
        d = np.asarray(tokens(n, C), dtype=float).reshape(n.shape)
        with np.errstate(all="ignore"):
            value = loss(n, d, values)[:, 0]
        return np.where(np.isfinite(value) & np.isfinite(d[:, 0]), value, 1e300)

    g = (np.sqrt(5.0) - 1) / 2
    a, b = np.full(R, lo), np.full(R, hi)
    x1, x2 = b - g * (b - a), a + g * (b - a)
    f1, f2 = f(x1), f(x2)
    for _ in range(80):  # the interval shrinks by 0.618 each time: 28 → 1e-15
        left = f1 < f2
        b = np.where(left, x2, b)
        a = np.where(left, a, x1)
        x2n = np.where(left, x1, a + g * (b - a))
        x1n = np.where(left, b - g * (b - a), x2)
        x1, x2 = x1n, x2n
        new = f(np.where(left, x1, x2))
        f2, f1 = np.where(left, f1, new), np.where(left, new, f2)
    x = (a + b) / 2
    interior = (x - lo >= 0.1) & (hi - x >= 0.1) & (np.minimum(f1, f2) < 1e300)
    return np.where(interior, np.exp(x), np.nan)


def compute_optimal(fit, budgets, *, params: Mapping[str, float] | None = None,
                    flops: Callable | str | None = None, flops_per_token: float = 6.0, inference_tokens: float = 0.0,
                    unique_tokens: float | None = None, repetition: Mapping[str, float] | None = None,
                    method: str = "auto", level: float | None = 0.9, kind: str = "observation",
                    model_error: bool = True) -> pd.DataFrame:
    """Compute-optimal N, D, tokens per parameter and loss for each budget C (FLOPs), with ``level`` bands.

    Parameters
    ----------
    fit : FitResult, BootstrapResult, Law or law name
        A fit of a law of N (parameters) and D (tokens), or a bootstrap of one (bands from its replicates rather
        than the fit's asymptotic covariance); or a law with ``params`` (e.g. published values; no bands).
    budgets : float or array
        Total compute budgets C in FLOPs (training, plus inference when ``inference_tokens`` > 0).
    flops : callable f(N, D) or expression in N and D, optional
        Training FLOPs; default ``flops_per_token``·N·D. E.g. ``"6*N*D + 6*24*2048*1024*D"`` adds attention.
    inference_tokens : float
        Tokens expected to be generated over the model's life (2 FLOPs per parameter each).
    unique_tokens : float, optional
        Cap on unique training tokens; repeated epochs are discounted with the data-constrained law, using
        the fit's E, A, B, alpha, beta and ``repetition`` (default: Muennighoff et al.'s R_D*, R_N*).
    method : {"auto", "closed", "numeric"}
        ``auto`` uses the law's closed form when the plain C = k·N·D constraint allows one.
    level : float or None
        Level of the bands (``None``: none). Every parameter draw of the fit gets its own optimum; the bands of
        N_opt, D_opt and tokens per parameter are the central intervals of the draws' (parameter uncertainty only:
        the model error is calibrated on losses). The loss band is that of a forecast at the optimum
        (:mod:`scalinglaws.fitting.bands`), the same as ``sl.forecast`` gives at N_opt, D_opt: the draws' losses
        there, with a new run's scatter for ``kind="observation"``
        (the default), and the model error that grows with the distance beyond the data (``model_error=False``:
        none); its parts are ``loss_noise_lower``/``loss_noise_upper`` and ``loss_model_error``.

    Returns
    -------
    pandas.DataFrame
        C, N_opt, D_opt, tokens_per_param, loss (+ train_flops, inference_flops with inference; + epochs with a
        unique-token cap), and with bands ``<column>_lower``/``<column>_upper`` for N_opt, D_opt,
        tokens_per_param and loss. A budget without an interior optimum gives NaN and a warning.

    Examples
    --------
    >>> epoch = dict(E=1.81686, A=482.006, B=2085.43, alpha=0.347813, beta=0.365854)
    >>> row = compute_optimal("chinchilla", 5.76e23, params=epoch).iloc[0]
    >>> f"{row.N_opt:.4g} {row.D_opt:.4g} {row.tokens_per_param:.4g}"
    '7.236e+10 1.327e+12 18.34'
    """
    law, values = _law_and_values(fit, params)
    try:
        C = np.atleast_1d(np.asarray(budgets, dtype=float))
    except (TypeError, ValueError):
        raise ScalingLawsError(f"compute budgets must be numbers of FLOPs, got {budgets!r}") from None
    if not np.all(np.isfinite(C)) or np.any(C <= 0):
        raise ScalingLawsError(f"compute budgets must be positive numbers of FLOPs, got {budgets!r}")
    if not (np.isfinite(flops_per_token) and flops_per_token > 0) or not (np.isfinite(inference_tokens)
                                                                           and inference_tokens >= 0):
        raise ScalingLawsError("flops_per_token must be positive and inference_tokens a finite number >= 0")
    if method not in ("auto", "closed", "numeric"):
        raise ScalingLawsError(f"method must be auto, closed or numeric, got {method!r}")
    if inference_tokens > 0:
        empty = [c for c in C if not np.less(*_search_range(float(c), flops_per_token, inference_tokens))]
        if empty:
            c = empty[0]
            raise ScalingLawsError(
                f"inference_tokens = {inference_tokens:g} costs 2·N·{inference_tokens:g} FLOPs, the whole budget "
                f"C = {c:g} for any model above {c / (2 * inference_tokens):.3g} parameters: no model can be "
                "trained and served within it; lower the inference tokens (--inference-tokens) or raise the budget")
    plain = flops is None and inference_tokens == 0 and unique_tokens is None
    closed = law.compute_optimal if plain and law.capabilities.allocation == "closed" else None
    if method == "closed" and closed is None:
        raise LawError(f"no closed-form allocation for law '{law.name}' under this constraint; use method='numeric'")
    loss = _loss_function(law, unique_tokens, repetition)
    tokens = _tokens_function(flops, flops_per_token, inference_tokens)
    use_closed = closed is not None and method != "numeric"
    if use_closed:
        n_opt = _closed_n(closed, C, values, flops_per_token)
    else:
        n_opt = np.array([_argmin_n(loss, values, tokens, c, flops_per_token, inference_tokens) for c in C])
    if not np.all(np.isfinite(n_opt)):
        bad = C[~np.isfinite(n_opt)]
        warn(f"no interior compute optimum at C = {', '.join(f'{c:g}' for c in bad)}: the law keeps improving "
             "toward an extreme model size (N_opt is NaN); it cannot be trusted this far from its data",
             ScalingLawsWarning)
    d_opt = _tokens_at(tokens, n_opt, C)
    out = pd.DataFrame({"C": C, "N_opt": n_opt, "D_opt": d_opt, "tokens_per_param": d_opt / n_opt,
                        "loss": _loss_at(loss, values, n_opt, d_opt)})
    if inference_tokens > 0:
        out["inference_flops"] = 2.0 * inference_tokens * n_opt
        out["train_flops"] = C - out["inference_flops"]
    if unique_tokens is not None:
        out["epochs"] = d_opt / float(unique_tokens)
    if level is not None and isinstance(fit, (FitResult, BootstrapResult)):
        draws = fit.parameter_draws()[0]
        if not use_closed and flops is not None:  # a FLOPs formula is solved per point: fewer draws
            draws = draws[:: max(1, len(draws) // 200)]
        if use_closed:
            n_draw = _closed_n(closed, C[None, :], tuple(draws[:, [j]] for j in range(draws.shape[1])),
                               flops_per_token)
        else:
            n_draw = np.column_stack([_argmin_batch(loss, draws, tokens, c, flops_per_token, inference_tokens)
                                      for c in C]) if len(draws) else np.empty((0, C.size))
        d_draw = np.column_stack([_tokens_at(tokens, n_draw[:, i], c) for i, c in enumerate(C)]) \
            if len(draws) else n_draw
        # the loss band is a forecast's at the optimum (the run one would train: N_opt, D_opt), the same numbers
        # sl.forecast and fit.band give there
        l_draw = _loss_at(loss, tuple(draws[:, [j]] for j in range(draws.shape[1])), n_opt[None, :], d_opt[None, :]) \
            if len(draws) else n_draw
        level = check_level(level)
        for column, values_ in (("N_opt", n_draw), ("D_opt", d_draw), ("tokens_per_param", d_draw / n_draw)):
            out[f"{column}_lower"], out[f"{column}_upper"] = percentile_band(values_, level)
        if check_kind(kind) == "observation" and len(l_draw):
            l_draw = l_draw * observation_noise(fit.residuals, l_draw.shape, fit.seed)
        noise_lower, noise_upper = percentile_band(l_draw, level)
        d = distance(fit.inputs, {"N": n_opt, "D": d_opt},
                     C=out["C"].to_numpy() - 2.0 * inference_tokens * n_opt if inference_tokens else None)
        M = fit.model_error.halfwidth(d, level) if model_error else np.zeros(C.size)
        band = combine(out["loss"].to_numpy(), noise_lower, noise_upper, M)
        out["loss_lower"], out["loss_upper"] = band["lower"], band["upper"]
        out["loss_noise_lower"], out["loss_noise_upper"] = band["noise_lower"], band["noise_upper"]
        out["loss_model_error"], out["distance"] = M, d
    return out


def _closed_n(closed: Callable, C, values, k: float) -> np.ndarray:
    """N_opt from a law's closed form, NaN (not an error) where it has no finite answer (e.g. alpha = beta = 0)."""
    with np.errstate(all="ignore"):
        try:
            n = np.asarray(closed(C, *values, flops_per_token=k)[0], dtype=float)
        except (ZeroDivisionError, OverflowError, FloatingPointError):
            n = np.full(np.broadcast_shapes(np.shape(C), *(np.shape(v) for v in values)), np.nan)
    return np.where(np.isfinite(n) & (n > 0), n, np.nan)


def _tokens_at(tokens: Callable, n_opt: np.ndarray, C) -> np.ndarray:
    """D at each N_opt (NaN where N_opt is), for one budget C or one per entry."""
    n_opt = np.asarray(n_opt, dtype=float).reshape(-1)
    C = np.broadcast_to(np.asarray(C, dtype=float), n_opt.shape)
    out = np.full(n_opt.shape, np.nan)
    for c in np.unique(C):
        rows = np.flatnonzero(np.isfinite(n_opt) & (C == c))
        if rows.size:
            out[rows] = np.asarray(tokens(n_opt[rows], float(c)), dtype=float).reshape(-1)
    return out


def _loss_at(loss: Callable, values, n_opt: np.ndarray, d_opt: np.ndarray) -> np.ndarray:
    ok = np.isfinite(n_opt) & np.isfinite(d_opt)
    with np.errstate(all="ignore"):
        value = loss(np.where(ok, n_opt, 1.0), np.where(ok, d_opt, 1.0), values)
    return np.where(ok, value, np.nan)


def frontier(fit: FitResult | Law | str, budgets, **options) -> tuple[pd.DataFrame, PowerFit, PowerFit]:
    """The compute-optimal frontier over ``budgets`` and its power laws N_opt = a·C^b and D_opt = a'·C^b'.

    ``options`` are those of :func:`compute_optimal`. For Chinchilla-type laws the power laws are exact
    (b = β/(α+β)); for other laws they summarise the frontier over the budgets given.
    """
    table = compute_optimal(fit, budgets, **options)
    ok = table.dropna(subset=["N_opt"])
    if len(ok) < 2:
        raise ScalingLawsError("need at least two budgets with an interior optimum to fit the frontier")
    return table, fit_power_law(ok["N_opt"], C=ok["C"]), fit_power_law(ok["D_opt"], C=ok["C"])


def inference_optimal(fit: FitResult | Law | str, loss, inference_tokens, *, params: Mapping[str, float] | None = None,
                      flops_per_token: float = 6.0, inference_flops_per_token: float = 2.0) -> pd.DataFrame:
    """The cheapest way to reach a target loss when the model will also serve inference (Sardana et al. 2024).

    Minimises total FLOPs k·N·D_train + 2·N·D_inference over N subject to L(N, D_train) = ``loss``. Every
    combination of the given target losses and inference-token counts is a row: loss_target, inference_tokens,
    N, D_train, tokens_per_param, total_flops, train_flops.

    >>> hoffmann = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    >>> row = inference_optimal("chinchilla", 2.0, 1e13, params=hoffmann).iloc[0]
    >>> f"{row.N:.5g} {row.D_train:.5g}"
    '6.4871e+09 3.8894e+12'
    """
    law, values = _law_and_values(fit, params)
    loss_of = _loss_function(law, None, None)
    L = lambda N, D: loss_of(N, D, values)  # noqa: E731
    rows = []
    for target in np.atleast_1d(np.asarray(loss, dtype=float)):
        for tokens_inf in np.atleast_1d(np.asarray(inference_tokens, dtype=float)):
            if tokens_inf < 0:
                raise ScalingLawsError("inference tokens must be >= 0")
            rows.append(_sardana(L, float(target), float(tokens_inf), flops_per_token, inference_flops_per_token))
    return pd.DataFrame(rows)


def _sardana(L: Callable, target: float, tokens_inf: float, k: float, k_inf: float) -> dict:
    one = np.ones(1)

    def excess_n(log_n: float) -> float:  # L with unlimited data, minus the target
        return float(L(np.exp(log_n) * one, 1e300 * one)[0]) - target

    if excess_n(80.0) >= 0:
        raise ScalingLawsError(f"the law never reaches loss {target:g}, even with unlimited parameters and data")
    lo = -10.0
    while excess_n(lo) < 0 and lo > -60:
        lo -= 10.0
    from scipy.optimize import brentq, minimize_scalar

    log_n_min = brentq(excess_n, lo, 80.0, xtol=1e-13)

    def log_d(log_n: float) -> float:
        n = np.exp(log_n) * one
        g = lambda x: float(L(n, np.exp(x) * one)[0]) - target  # noqa: E731
        if g(200.0) > 0:
            return np.inf
        a = 0.0
        while g(a) < 0 and a > -60:
            a -= 10.0
        return brentq(g, a, 200.0, xtol=1e-13)

    def total(log_n: float) -> float:
        d = log_d(log_n)
        return np.log(k * np.exp(log_n + d) + k_inf * np.exp(log_n) * tokens_inf) if np.isfinite(d) else 1e300

    res = minimize_scalar(total, bounds=(log_n_min + 1e-6, log_n_min + 25.0), method="bounded",
                          options={"xatol": 1e-11, "maxiter": 500})
    N = float(np.exp(res.x))
    D = float(np.exp(log_d(res.x)))
    train = k * N * D
    return {"loss_target": target, "inference_tokens": tokens_inf, "N": N, "D_train": D, "tokens_per_param": D / N,
            "total_flops": train + k_inf * N * tokens_inf, "train_flops": train}
