"""Batch size and learning rate: the critical batch size, and optimal hyperparameters as power laws.

**McCandlish et al. (2018).** Steps S and examples E = B·S needed to reach a target loss at batch size B
obey (S/S_min − 1)(E/E_min − 1) = 1, i.e.

    S(B) = S_min·(1 + B_noise/B) = S_min + E_min/B,     B_crit = B_noise = E_min/S_min

:func:`fit_batch_sweep` fits S_min and E_min to steps-to-target measurements by least squares on log S
(multiplicative noise), with t-intervals from the covariance of (log S_min, log E_min). Zhang et al. (2024)
define the critical batch size as the B where reaching the target takes 20 % more steps than perfect
linear scaling: S_min + E_min/B = 1.2·E_min/B gives B = 0.2·B_crit (our derivation, reported as
``B_zhang``). Batch sizes are in whatever unit the sweep uses (tokens or sequences).

**Kaplan et al. (2020).** B_crit(L) = B*/L^(1/alpha_B) with B* ≈ 2e8 tokens and alpha_B ≈ 0.21; training at
batch B for S steps equals S_min = S/(1 + B_crit/B) steps at infinitely small batches, and its compute
C_min = C/(1 + B/B_crit) (:func:`critical_batch_kaplan`, :func:`min_steps`, :func:`min_compute_ratio`).

**Optimal hyperparameters.** :class:`HyperparameterLaw` holds η_opt and B_opt as power laws of (N, D) or of C,
with the published DeepSeek (2024) and Step Law (2025) coefficients as presets, and :func:`fit_hyperparameter_law`
fits them to a learning-rate × batch-size sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import least_squares

from ..exceptions import InputError, ScalingLawsError
from .powerfit import fit_power_law

__all__ = ["BatchFit", "fit_batch_sweep", "BatchSweeps", "analyze_batch_sweeps", "critical_batch_kaplan", "min_steps",
           "min_compute_ratio", "HyperparameterLaw", "STEP_LAW", "STEP_LAW_MEAN", "DEEPSEEK", "PRESETS",
           "fit_hyperparameter_law", "OPTIMA"]


@dataclass(frozen=True)
class BatchFit:
    """McCandlish fit of one batch-size sweep: S_min, E_min, B_crit with ``level`` t-intervals."""

    S_min: float
    E_min: float
    B_crit: float
    intervals: Mapping[str, tuple[float, float]]
    level: float
    n: int
    rmse: float
    batch_sizes: np.ndarray = field(repr=False)
    steps: np.ndarray = field(repr=False)

    @property
    def B_zhang(self) -> float:
        """Zhang et al.'s critical batch size, 20 % over linear scaling: 0.2·B_crit."""
        return 0.2 * self.B_crit

    def steps_at(self, batch_size) -> np.ndarray:
        """Predicted steps to the target at batch size B: S_min + E_min/B."""
        return self.S_min + self.E_min / np.asarray(batch_size, dtype=float)

    def as_row(self) -> dict:
        lo, hi = self.intervals["B_crit"]
        return {"S_min": self.S_min, "E_min": self.E_min, "B_crit": self.B_crit, "B_crit_lower": lo,
                "B_crit_upper": hi, "B_zhang": self.B_zhang, "n": self.n, "rmse_log": self.rmse}


def fit_batch_sweep(batch_size, steps, level: float = 0.9) -> BatchFit:
    """Fit S(B) = S_min + E_min/B to steps-to-target measurements by least squares on log S.

    The starting point is the exact linear regression of S on 1/B; intervals are t-intervals of
    (log S_min, log E_min, log B_crit) from the covariance of the fit (n − 2 degrees of freedom).

    >>> fit = fit_batch_sweep([250, 500, 1000, 2000, 4000], [9000, 5000, 3000, 2000, 1500])
    >>> round(fit.S_min, 6), round(fit.E_min, 3), round(fit.B_crit, 6)
    (1000.0, 2000000.0, 2000.0)
    """
    B = np.asarray(batch_size, dtype=float)
    S = np.asarray(steps, dtype=float)
    if B.shape != S.shape or B.ndim != 1 or B.size < 3:
        raise ScalingLawsError("a batch sweep needs at least 3 (batch size, steps) pairs of equal length")
    if np.any(~np.isfinite(B)) or np.any(B <= 0) or np.any(~np.isfinite(S)) or np.any(S <= 0):
        raise ScalingLawsError("batch sizes and steps must be positive numbers")
    if np.unique(B).size < 2:
        raise ScalingLawsError("a batch sweep needs at least two distinct batch sizes")
    slope, intercept = np.polyfit(1.0 / B, S, 1)
    start = np.log([max(intercept, 1e-3 * S.min()), max(slope, 1e-3 * S.min() * B.min())])

    def residual(p):
        return np.log(np.exp(p[0]) + np.exp(p[1]) / B) - np.log(S)

    res = least_squares(residual, start, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    log_s, log_e = res.x
    dof = B.size - 2
    rss = float(np.sum(res.fun**2))
    J = res.jac
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (rss / dof if dof > 0 else np.nan) * np.linalg.pinv(J.T @ J)
    q = stats.t.ppf(0.5 + level / 2, dof) if dof > 0 else np.nan
    grad_b = np.array([-1.0, 1.0])  # log B_crit = log E_min − log S_min
    se = {"S_min": np.sqrt(cov[0, 0]), "E_min": np.sqrt(cov[1, 1]), "B_crit": np.sqrt(grad_b @ cov @ grad_b)}
    centre = {"S_min": log_s, "E_min": log_e, "B_crit": log_e - log_s}
    intervals = {k: (float(np.exp(centre[k] - q * se[k])), float(np.exp(centre[k] + q * se[k]))) for k in centre}
    return BatchFit(S_min=float(np.exp(log_s)), E_min=float(np.exp(log_e)), B_crit=float(np.exp(log_e - log_s)),
                    intervals=intervals, level=level, n=int(B.size), rmse=float(np.sqrt(rss / B.size)),
                    batch_sizes=B, steps=S)


@dataclass(frozen=True, eq=False)
class BatchSweeps:
    """Batch-size sweeps analysed together (:func:`analyze_batch_sweeps`): ``fits`` (sweep name → :class:`BatchFit`),
    :attr:`table` (one row per sweep), ``scaling`` (how B_crit scales with each sweep-level column that varies: a
    :class:`~scalinglaws.forecasting.powerfit.PowerFit` per column), and the columns used."""

    fits: Mapping[str, BatchFit]
    table: pd.DataFrame
    scaling: Mapping[str, object]
    batch_column: str
    steps_column: str
    level: float
    source: str = ""

    def summary(self) -> str:
        """One line per sweep, then the scaling of B_crit."""
        from ..schema import format_number

        lines = [f"Batch-size sweeps{f' in {self.source}' if self.source else ''}: S(B) = S_min + E_min/B, "
                 f"B_crit = E_min/S_min ({100 * self.level:g}% intervals); batch sizes in '{self.batch_column}' units",
                 f"  {'sweep':<10} {'runs':>4} {'S_min':>9} {'E_min':>9} {'B_crit':>9} {'interval':>21} "
                 f"{'0.2·B_crit':>10} {'rms log':>8}"]
        for row in self.table.itertuples():
            lines.append(f"  {row.sweep:<10} {row.n:>4} {row.S_min:>9.4g} {format_number(row.E_min):>9} "
                         f"{format_number(row.B_crit):>9} [{format_number(row.B_crit_lower):>8}, "
                         f"{format_number(row.B_crit_upper):>8}] {format_number(row.B_zhang):>10} {row.rmse_log:>8.3f}")
        for column, fit in self.scaling.items():
            lines.append(f"B_crit against {_SCALING_WORDS.get(column, column)}: {fit.describe('B_crit')}")
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``sweeps``: the table."""
        return {"sweeps": self.table}


#: Sweep-level columns whose effect on B_crit is fitted when they vary, with their meaning.
_SCALING_WORDS = {"N_nominal": "model size", "N": "model size", "target_loss": "target loss",
                  "E_min": "tokens to the target (data)"}


def analyze_batch_sweeps(table: pd.DataFrame, *, by: str | None = None, batch: str | None = None,
                         steps: str | None = None, level: float = 0.9) -> BatchSweeps:
    """Fit S(B) = S_min + E_min/B to each sweep in ``table`` (steps to a target loss at each batch size).

    Columns are found through the vocabulary (:data:`~scalinglaws.schema.COLUMNS`: ``batch_size_tokens``,
    ``batch_size``, ``bs`` ... for the batch size; ``steps_to_target``, ``steps`` ... for the steps) or named by
    ``batch``/``steps``; sweeps are the groups of ``by`` (default: a ``model`` column when present, else one sweep).
    With three or more sweeps, B_crit is regressed on each of ``N_nominal``, ``N``, ``target_loss`` and E_min that
    the table has.
    """
    from ..schema import COLUMNS, normalize

    if not 0 < level < 1:
        raise ScalingLawsError(f"level must be between 0 and 1, got {level}")
    by_norm = {normalize(c): c for c in table.columns}

    def column(given, canonical, option):
        if given is not None:
            if given not in table.columns:
                raise InputError(f"no column {given!r}", hint=f"columns: {', '.join(map(str, table.columns))}")
            return given
        for alias in COLUMNS[canonical].aliases:
            if alias in by_norm:
                return by_norm[alias]
        raise InputError(f"no column with {COLUMNS[canonical].meaning} (looked for "
                         f"{', '.join(COLUMNS[canonical].aliases)})", hint=f"name it with {option}")

    b_col = column(batch, "batch_size", "--batch-col (batch=...)")
    s_col = column(steps, "steps", "--steps-col (steps=...)")
    if by is not None and by not in table.columns:
        raise InputError(f"no column {by!r} to group sweeps by", hint=f"columns: {', '.join(map(str, table.columns))}")
    by = by or ("model" if "model" in table.columns else None)
    groups = table.groupby(by, sort=False) if by else [("all", table)]
    fits, rows = {}, []
    for name, sweep in groups:
        b = pd.to_numeric(sweep[b_col], errors="coerce")
        st = pd.to_numeric(sweep[s_col], errors="coerce")
        if b.isna().any() or st.isna().any():
            bad = sweep.index[(b.isna() | st.isna()).to_numpy()][0]
            raise InputError(f"sweep {name!r} has a non-numeric batch size or step count", row=int(bad),
                             column=b_col if b.isna().any() else s_col, hint="fix the value, or remove the row")
        fit = fit_batch_sweep(b.to_numpy(float), st.to_numpy(float), level=level)
        fits[str(name)] = fit
        extra = {c: sweep[c].iloc[0] for c in ("N", "N_nominal", "target_loss") if c in sweep.columns}
        rows.append({"sweep": str(name), **extra, **fit.as_row()})
    frame = pd.DataFrame(rows)
    scaling = {}
    if len(frame) >= 3:
        for x in ("N_nominal", "N", "target_loss", "E_min"):
            if x in frame.columns and frame[x].astype(float).nunique() > 1:
                scaling[x] = fit_power_law(frame["B_crit"], **{x: frame[x].astype(float)})
    return BatchSweeps(fits=fits, table=frame, scaling=scaling, batch_column=str(b_col), steps_column=str(s_col),
                       level=level)


def critical_batch_kaplan(loss, b_star: float = 2e8, alpha_b: float = 0.21):
    """Kaplan et al.'s critical batch size in tokens, B_crit(L) = B*/L^(1/alpha_B) (L in nats/token).

    >>> f"{float(critical_batch_kaplan(3.0)):.6g}"
    '1.06911e+06'
    """
    loss = np.asarray(loss, dtype=float)
    if np.any(loss <= 0):
        raise ScalingLawsError("losses must be positive")
    return b_star / loss ** (1.0 / alpha_b)


def min_steps(steps, batch_size, critical_batch):
    """S_min = S/(1 + B_crit/B): the steps the same progress would take at a very small batch size."""
    return np.asarray(steps, dtype=float) / (1.0 + np.asarray(critical_batch, dtype=float) / np.asarray(batch_size, dtype=float))


def min_compute_ratio(batch_size, critical_batch):
    """C_min/C = 1/(1 + B/B_crit): the share of the compute that a very small batch size would need."""
    return 1.0 / (1.0 + np.asarray(batch_size, dtype=float) / np.asarray(critical_batch, dtype=float))


@dataclass(frozen=True)
class HyperparameterLaw:
    """Optimal learning rate and batch size (tokens) as power laws.

    ``lr`` and ``batch`` are (coefficient, exponents by variable) with variables N (parameters), D (tokens)
    or C (FLOPs): e.g. Step Law's η = 1.79·N^−0.713·D^0.307.
    """

    name: str
    lr: tuple[float, Mapping[str, float]]
    batch: tuple[float, Mapping[str, float]]
    reference: str = ""
    note: str = ""

    @staticmethod
    def _value(law, values: Mapping[str, float]):
        coefficient, exponents = law
        missing = [k for k in exponents if values.get(k) is None]
        if missing:
            raise ScalingLawsError(f"this hyperparameter law needs {', '.join(missing)}")
        out = coefficient
        for k, b in exponents.items():
            out = out * np.asarray(values[k], dtype=float) ** b
        return out

    def learning_rate(self, **values):
        """Optimal peak learning rate at the given N, D and/or C."""
        return self._value(self.lr, values)

    def batch_size(self, **values):
        """Optimal batch size in tokens at the given N, D and/or C."""
        return self._value(self.batch, values)

    def describe(self) -> str:
        def text(law):
            return f"{law[0]:.4g}·" + "·".join(f"{k}^{b:.4g}" for k, b in law[1].items())
        return f"{self.name}: lr = {text(self.lr)}; batch (tokens) = {text(self.batch)}" + (
            f"  [{self.reference}]" if self.reference else "")


#: Step Law (Li et al. 2025), rounded published coefficients (N non-embedding parameters, D tokens).
STEP_LAW = HyperparameterLaw("steplaw", (1.79, {"N": -0.713, "D": 0.307}), (0.58, {"D": 0.571}),
                             "Li et al. 2025, Predictable Scale: Part I (step-law/steplaw)")
#: Step Law, the mean of the repo's 1000 bootstrap fits (what its prediction tool uses).
STEP_LAW_MEAN = HyperparameterLaw("steplaw-mean", (1.79734, {"N": -0.71292, "D": 0.30749}), (0.580688, {"D": 0.57094}),
                                  "step-law/steplaw data/1004_fitted_lr_bs_scaling_model_parameters.csv (mean)")
#: DeepSeek LLM (2024), commonly cited values (C = M·D with M non-embedding FLOPs per token; unverified in TeX).
DEEPSEEK = HyperparameterLaw("deepseek", (0.3118, {"C": -0.1250}), (0.2920, {"C": 0.3271}),
                             "DeepSeek-AI 2024, DeepSeek LLM (arXiv:2401.02954)",
                             "C counts non-embedding FLOPs per token times tokens")
#: The published hyperparameter laws by name: ``steplaw``, ``steplaw-mean``, ``deepseek``.
PRESETS = {law.name: law for law in (STEP_LAW, STEP_LAW_MEAN, DEEPSEEK)}


OPTIMA = ("surface", "argmin", "near")


def _surface_optimum(log_lr: np.ndarray, log_bs: np.ndarray, log_loss: np.ndarray) -> tuple[float, float] | None:
    """Vertex of a quadratic surface of log loss in (log lr, log bs), if it is a minimum inside the runs."""
    A = np.column_stack([np.ones_like(log_lr), log_lr, log_bs, log_lr**2, log_bs**2, log_lr * log_bs])
    c = np.linalg.lstsq(A, log_loss, rcond=None)[0]
    H = np.array([[2 * c[3], c[5]], [c[5], 2 * c[4]]])
    if np.any(np.linalg.eigvalsh(H) <= 0):
        return None
    x, y = np.linalg.solve(H, -c[1:3])
    if log_lr.min() <= x <= log_lr.max() and log_bs.min() <= y <= log_bs.max():
        return float(np.exp(x)), float(np.exp(y))
    return None


def fit_hyperparameter_law(runs: pd.DataFrame, *, on=("N", "D"), batch_on=("D",), loss: str = "loss",
                           lr: str = "lr", batch: str = "batch_size_tokens", optimum: str = "surface",
                           tolerance: float | None = None, name: str = "fitted"
                           ) -> tuple[HyperparameterLaw, pd.DataFrame, dict]:
    """Fit η_opt and B_opt power laws to a learning-rate × batch-size sweep.

    Each cell of the ``on``/``batch_on`` variables (e.g. each (N, D)) gets an optimum, then log η_opt is
    regressed on the logs of ``on`` and log B_opt on the logs of ``batch_on``. Ways to find a cell's optimum:

    * ``"surface"`` (default): the vertex of a quadratic surface of log loss in (log lr, log batch) through
      the cell's runs within ``tolerance`` (default 2 %) of its best loss; the best run when the surface has
      no minimum inside them (or fewer than 8 runs are that close).
    * ``"argmin"``: the best run of the cell (the grid resolution limits it).
    * ``"near"``: every run within ``tolerance`` (default 0.25 %) of the best enters the regression, as in
      Step Law's own code.

    Loss and learning rate trade off along a ridge (a larger batch wants a larger learning rate), so the
    exponents depend on the estimator; compare them (``benchmarks/planning.py`` does). Runs with a
    non-finite loss are ignored (counted in the ``diverged`` column of the optima table).

    Returns the law, the per-cell optima table and the two :class:`PowerFit` (under "lr" and "batch").
    """
    if optimum not in OPTIMA:
        raise ScalingLawsError(f"optimum must be one of {', '.join(OPTIMA)}, got {optimum!r}")
    tol = {"surface": 0.02, "near": 0.0025, "argmin": 0.0}[optimum] if tolerance is None else float(tolerance)
    needed = [*on, *batch_on, loss, lr, batch]
    missing = [c for c in dict.fromkeys(needed) if c not in runs.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} for a hyperparameter fit",
                         hint=f"columns found: {', '.join(map(str, runs.columns))}")
    keys = list(dict.fromkeys([*on, *batch_on]))
    finite = runs.dropna(subset=[c for c in needed if c != loss])
    rows, points = [], []
    for values, group in finite.groupby(keys, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        good = group[np.isfinite(group[loss]) & (group[loss] > 0)]
        if good.empty:
            continue
        best = good.loc[good[loss].idxmin()]
        near = good[good[loss] <= best[loss] * (1 + tol)]
        where = dict(zip(keys, values))
        lr_opt, batch_opt, how = float(best[lr]), float(best[batch]), "best run"
        if optimum == "surface" and len(near) >= 8:
            vertex = _surface_optimum(np.log(near[lr].to_numpy(float)), np.log(near[batch].to_numpy(float)),
                                      np.log(near[loss].to_numpy(float)))
            if vertex is not None:
                (lr_opt, batch_opt), how = vertex, "surface vertex"
        rows.append({**where, "lr_opt": lr_opt, "batch_opt": batch_opt, "loss_opt": float(best[loss]),
                     "runs": len(group), "diverged": len(group) - len(good), "near": len(near), "optimum": how})
        if optimum == "near":
            points += [{**where, "lr_opt": float(r[lr]), "batch_opt": float(r[batch])} for _, r in near.iterrows()]
    optima = pd.DataFrame(rows)
    if len(optima) < len(keys) + 2:
        raise ScalingLawsError(f"{len(optima)} cells are too few to fit power laws in {', '.join(keys)}")
    regress = pd.DataFrame(points) if optimum == "near" else optima
    lr_fit = fit_power_law(regress["lr_opt"], **{k: regress[k] for k in on})
    batch_fit = fit_power_law(regress["batch_opt"], **{k: regress[k] for k in batch_on})
    law = HyperparameterLaw(name, (lr_fit.coefficient, dict(lr_fit.exponents)),
                            (batch_fit.coefficient, dict(batch_fit.exponents)), f"fitted to a sweep ({optimum})")
    return law, optima, {"lr": lr_fit, "batch": batch_fit}
