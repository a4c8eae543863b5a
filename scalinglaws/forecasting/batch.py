"""Batch size and learning rate: the critical batch size, and optimal hyperparameters as power laws.

**McCandlish et al. (2018).** Steps S and examples E = B·S needed to reach a target loss at batch size B
obey (S/S_min − 1)(E/E_min − 1) = 1, i.e.

    S(B) = S_min·(1 + B_noise/B) = S_min + E_min/B,     B_crit = B_noise = E_min/S_min

:func:`fit_batch_sweep` fits S_min and E_min to steps-to-target measurements by least squares on log S
(multiplicative noise, unweighted, every batch size: the recipe of Zhang et al.'s own code), with t-intervals
from the covariance of (log S_min, log E_min). Two critical batch sizes follow, and they are different:

* **McCandlish's noise scale** B_noise = E_min/S_min (their B_crit): twice the minimal steps and examples.
* **Zhang et al.'s critical batch size** (2024; hlzhang109/critical-batch-size, ``plots/chinchilla.ipynb``,
  cell 5): the batch where reaching the target takes 20 % more steps than perfect linear scaling *from the
  reference batch* B_ref = 256 sequences, S(B) = 1.2·S(B_ref)·B_ref/B, i.e. CBS = 0.2·E_min/S_min + 1.2·B_ref (their
  notebook solves b − 5a·CBS + 5a·1.2·256 = 0). On their sweeps: 745, 955, 1394, 1889, 2533 sequences for 85M …
  1.2B parameters, CBS = 93.2·(N/10⁶)^0.468. The bare 0.2·B_noise (438 … 2226) is not their quantity.

Batch sizes are in whatever unit the sweep uses (tokens or sequences); B_ref must be in the same unit.

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

from ..exceptions import InputError, ScalingLawsError
from .powerfit import fit_power_law

__all__ = ["BatchFit", "fit_batch_sweep", "BatchSweeps", "analyze_batch_sweeps", "ZHANG_REFERENCE_BATCH",
           "ZHANG_OVERHEAD", "critical_batch_kaplan", "min_steps",
           "min_compute_ratio", "HyperparameterLaw", "STEP_LAW", "STEP_LAW_MEAN", "DEEPSEEK", "PRESETS",
           "fit_hyperparameter_law", "OPTIMA"]


#: Zhang et al.'s reference batch size for "perfect linear scaling", in sequences (their code's 256).
ZHANG_REFERENCE_BATCH = 256
#: The step overhead over linear scaling that defines Zhang et al.'s critical batch size (20 %).
ZHANG_OVERHEAD = 0.2


@dataclass(frozen=True)
class BatchFit:
    """One batch-size sweep: S(B) = S_min + E_min/B fitted, and the two critical batch sizes derived from it.

    * ``B_noise`` = E_min/S_min: McCandlish et al.'s critical batch (noise scale), where training needs twice the
      minimal steps and twice the minimal examples (``intervals`` holds its t-interval, with S_min's and E_min's).
    * ``cbs``: Zhang et al.'s critical batch size, where reaching the target takes 20 % more steps than perfect
      linear scaling from ``reference_batch`` (256 sequences in their code):
      CBS = 0.2·E_min/S_min + 1.2·B_ref (NaN when no reference batch is known in the sweep's unit).

    Every batch size is in the sweep's own unit (sequences or tokens).
    """

    S_min: float
    E_min: float
    B_noise: float
    intervals: Mapping[str, tuple[float, float]]
    level: float
    n: int
    rmse: float
    batch_sizes: np.ndarray = field(repr=False)
    steps: np.ndarray = field(repr=False)
    reference_batch: float = np.nan

    @property
    def cbs(self) -> float:
        """Zhang et al.'s critical batch size: overhead·E_min/S_min + (1 + overhead)·reference_batch."""
        return ZHANG_OVERHEAD * self.B_noise + (1 + ZHANG_OVERHEAD) * self.reference_batch

    def steps_at(self, batch_size) -> np.ndarray:
        """Predicted steps to the target at batch size B: S_min + E_min/B."""
        return self.S_min + self.E_min / np.asarray(batch_size, dtype=float)

    def as_row(self) -> dict:
        lo, hi = self.intervals["B_noise"]
        return {"S_min": self.S_min, "E_min": self.E_min, "B_noise": self.B_noise, "B_noise_lower": lo,
                "B_noise_upper": hi, "cbs": self.cbs, "reference_batch": self.reference_batch, "n": self.n,
                "rmse_log": self.rmse}


def fit_batch_sweep(batch_size, steps, level: float = 0.9, *, reference_batch: float | None = None) -> BatchFit:
    """Fit S(B) = S_min + E_min/B to steps-to-target measurements by least squares on log S, unweighted, over
    every batch size (the recipe of Zhang et al.'s ``plots/chinchilla.ipynb``, and McCandlish et al.'s form).

    The starting point is the exact linear regression of S on 1/B; intervals are t-intervals of
    (log S_min, log E_min, log B_noise) from the covariance of the fit (n − 2 degrees of freedom).
    ``reference_batch`` (in the sweep's unit: 256 for sequences, 256·seq_len for tokens) gives Zhang et al.'s
    critical batch size ``cbs``.

    >>> fit = fit_batch_sweep([64, 256, 1024, 4096], [16250, 5000, 2187.5, 1484.375], reference_batch=256)
    >>> round(fit.S_min, 6), round(fit.E_min, 3), round(fit.B_noise, 6), round(fit.cbs, 6)
    (1250.0, 960000.0, 768.0, 460.8)
    """
    B = np.asarray(batch_size, dtype=float)
    S = np.asarray(steps, dtype=float)
    if B.shape != S.shape or B.ndim != 1 or B.size < 3:
        raise ScalingLawsError("a batch sweep needs at least 3 (batch size, steps) pairs of equal length")
    if np.any(~np.isfinite(B)) or np.any(B <= 0) or np.any(~np.isfinite(S)) or np.any(S <= 0):
        raise ScalingLawsError("batch sizes and steps must be positive numbers")
    if np.unique(B).size < 2:
        raise ScalingLawsError("a batch sweep needs at least two distinct batch sizes")
    if reference_batch is not None and not (np.isfinite(reference_batch) and reference_batch > 0):
        raise ScalingLawsError(f"reference_batch must be a positive batch size, got {reference_batch!r}")
    slope, intercept = np.polyfit(1.0 / B, S, 1)
    start = np.log([max(intercept, 1e-3 * S.min()), max(slope, 1e-3 * S.min() * B.min())])

    def residual(p):
        return np.log(np.exp(p[0]) + np.exp(p[1]) / B) - np.log(S)

    from scipy.optimize import least_squares
    res = least_squares(residual, start, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    log_s, log_e = res.x
    dof = B.size - 2
    rss = float(np.sum(res.fun**2))
    J = res.jac
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (rss / dof if dof > 0 else np.nan) * np.linalg.pinv(J.T @ J)
    from scipy import stats
    q = stats.t.ppf(0.5 + level / 2, dof) if dof > 0 else np.nan
    grad_b = np.array([-1.0, 1.0])  # log B_noise = log E_min − log S_min
    se = {"S_min": np.sqrt(cov[0, 0]), "E_min": np.sqrt(cov[1, 1]), "B_noise": np.sqrt(grad_b @ cov @ grad_b)}
    centre = {"S_min": log_s, "E_min": log_e, "B_noise": log_e - log_s}
    intervals = {k: (float(np.exp(centre[k] - q * se[k])), float(np.exp(centre[k] + q * se[k]))) for k in centre}
    return BatchFit(S_min=float(np.exp(log_s)), E_min=float(np.exp(log_e)), B_noise=float(np.exp(log_e - log_s)),
                    intervals=intervals, level=level, n=int(B.size), rmse=float(np.sqrt(rss / B.size)),
                    batch_sizes=B, steps=S, reference_batch=np.nan if reference_batch is None else float(reference_batch))


@dataclass(frozen=True, eq=False)
class BatchSweeps:
    """Batch-size sweeps analysed together (:func:`analyze_batch_sweeps`): ``fits`` (sweep name → :class:`BatchFit`),
    :attr:`table` (one row per sweep), ``scaling`` (how Zhang et al.'s CBS and McCandlish's B_noise scale with each
    sweep-level column that varies: a :class:`~scalinglaws.forecasting.powerfit.PowerFit` per (quantity, column)),
    the columns used and the unit of the batch sizes."""

    fits: Mapping[str, BatchFit]
    table: pd.DataFrame
    scaling: Mapping[tuple[str, str], object]
    batch_column: str
    steps_column: str
    level: float
    unit: str = ""
    source: str = ""
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line per sweep, then the scaling of the critical batch sizes."""
        from ..schema import format_number

        unit = f" {self.unit}" if self.unit else f" '{self.batch_column}' units"
        lines = [f"Batch-size sweeps{f' in {self.source}' if self.source else ''}: S(B) = S_min + E_min/B fitted on "
                 f"log S; batch sizes in{unit} ({100 * self.level:g}% intervals)",
                 "  CBS (Zhang et al. 2024): 20% more steps than perfect linear scaling from the reference batch, "
                 "0.2·E_min/S_min + 1.2·B_ref",
                 "  B_noise (McCandlish et al. 2018): E_min/S_min, twice the minimal steps and examples",
                 f"  {'sweep':<10} {'runs':>4} {'S_min':>9} {'E_min':>9} {'CBS':>9} {'B_ref':>7} {'B_noise':>9} "
                 f"{'interval':>21} {'rms log':>8}"]
        for row in self.table.itertuples():
            lines.append(f"  {row.sweep:<10} {row.n:>4} {row.S_min:>9.4g} {format_number(row.E_min):>9} "
                         f"{format_number(row.cbs):>9} {format_number(row.reference_batch):>7} "
                         f"{format_number(row.B_noise):>9} [{format_number(row.B_noise_lower):>8}, "
                         f"{format_number(row.B_noise_upper):>8}] {row.rmse_log:>8.3f}")
        for (quantity, column), fit in self.scaling.items():
            name = {"cbs": "CBS", "B_noise": "B_noise"}[quantity]
            lines.append(f"{name} against {_SCALING_WORDS.get(column, column)}: {fit.describe(name)}")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``sweeps``: the table."""
        return {"sweeps": self.table}


#: Sweep-level columns whose effect on the critical batch sizes is fitted when they vary, with their meaning.
_SCALING_WORDS = {"N_nominal": "model size (millions of parameters)", "N": "model size (millions of parameters)",
                  "target_loss": "target loss", "E_min": "tokens to the target (data)"}


def _reference_batch(column: str, sweep: pd.DataFrame, given: float | None) -> tuple[float, str]:
    """Zhang et al.'s reference batch (256 sequences) in the unit of the batch column, and that unit."""
    from ..schema import normalize

    name = normalize(column)
    if "token" in name:
        seq = pd.to_numeric(sweep["seq_len"], errors="coerce").iloc[0] if "seq_len" in sweep else np.nan
        reference = given if given is not None else ZHANG_REFERENCE_BATCH * seq
        return float(reference), "tokens"
    reference = given if given is not None else ZHANG_REFERENCE_BATCH
    return float(reference), "sequences" if "seq" in name or name in ("batch_size", "bs", "b") else ""


def analyze_batch_sweeps(table: pd.DataFrame, *, by: str | None = None, batch: str | None = None,
                         steps: str | None = None, level: float = 0.9,
                         reference_batch: float | None = None) -> BatchSweeps:
    """Fit S(B) = S_min + E_min/B to each sweep in ``table`` (steps to a target loss at each batch size), with
    Zhang et al.'s critical batch size (CBS) and McCandlish's noise scale B_noise (:class:`BatchFit`).

    Columns are found through the vocabulary (:data:`~scalinglaws.schema.COLUMNS`: ``batch_size_tokens``,
    ``batch_size``, ``bs`` ... for the batch size; ``steps_to_target``, ``steps`` ... for the steps) or named by
    ``batch``/``steps``; sweeps are the groups of ``by`` (default: a ``model`` column when present, else one sweep).
    The reference batch of the CBS is Zhang et al.'s 256 sequences: 256·seq_len for a batch in tokens (from a
    ``seq_len`` column; NaN without one), or ``reference_batch`` in the batch column's unit. With three or more
    sweeps, CBS and B_noise are regressed on each of ``N_nominal``/``N`` (in millions of parameters, as Zhang et
    al. do), ``target_loss`` and E_min that vary.
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
    fits, rows, unit = {}, [], ""
    for name, sweep in groups:
        b = pd.to_numeric(sweep[b_col], errors="coerce")
        st = pd.to_numeric(sweep[s_col], errors="coerce")
        if b.isna().any() or st.isna().any():
            bad = sweep.index[(b.isna() | st.isna()).to_numpy()][0]
            raise InputError(f"sweep {name!r} has a non-numeric batch size or step count", row=int(bad),
                             column=b_col if b.isna().any() else s_col, hint="fix the value, or remove the row")
        reference, unit = _reference_batch(b_col, sweep, reference_batch)
        fit = fit_batch_sweep(b.to_numpy(float), st.to_numpy(float), level=level,
                              reference_batch=reference if np.isfinite(reference) else None)
        fits[str(name)] = fit
        extra = {c: sweep[c].iloc[0] for c in ("N", "N_nominal", "target_loss") if c in sweep.columns}
        rows.append({"sweep": str(name), **extra, **fit.as_row()})
    frame = pd.DataFrame(rows)
    notes = []
    if frame["cbs"].isna().any():
        notes.append("no CBS where the reference batch is unknown: batch sizes in tokens need a seq_len column "
                     "(256 sequences x seq_len), or give reference_batch (--reference-batch)")
    scaling = {}
    if len(frame) >= 3:
        for x in ("N_nominal", "N", "target_loss", "E_min"):
            if x in frame.columns and frame[x].astype(float).nunique() > 1:
                values = frame[x].astype(float) / (1e6 if x in ("N", "N_nominal") else 1.0)
                for quantity in ("cbs", "B_noise"):
                    if frame[quantity].notna().all():
                        scaling[quantity, x] = fit_power_law(frame[quantity], **{x: values})
    return BatchSweeps(fits=fits, table=frame, scaling=scaling, batch_column=str(b_col), steps_column=str(s_col),
                       level=level, unit=unit, notes=tuple(notes))


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
