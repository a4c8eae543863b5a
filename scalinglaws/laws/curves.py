"""Loss-curve laws: the loss at every step of a run as a function of its whole learning-rate schedule.

A curve law is bound to the schedules of the runs it describes (:meth:`CurveLaw.bind`); its inputs are, per
observation, ``run_index`` (the index of the run's schedule) and ``step``. The schedules are part of the law's
configuration, so a saved fit carries them, and forecasting a new schedule is the same law bound to it.

* ``lr-annealing`` (Tissue, Wang & Wang 2024): L(t) = L0 + A·S1(t)^−alpha − C·S2(t; lam), with the forward
  area S1 and the annealing area S2 of :mod:`scalinglaws.schedules`. The momentum ``lam`` is fitted: 0.999, the
  value usually quoted, under-predicts the gain of a cooldown of a few thousand steps.
* ``lr-annealing-N``: L = L0 + A·S1^−alpha + B·N^−beta − C·S2·N^gamma across model sizes (N = parameters; the
  form is from the authors' notes and not verified against the paper).
* ``multi-power`` (Luo et al. 2025): L(t) = L0 + A·S1(t)^−alpha + B·Σ_{k≤t} (η_k − η_{k−1})·G(η_k^−gamma·S_k(t)),
  S_k(t) = Σ_{τ=k..t} η_τ, G(x) = 1 − (C·x + 1)^−beta. The sum runs over every step where the learning rate
  changes, the warmup included, as in the authors' code.

**Cost of the Multi-Power law.** The naive evaluation is O(T) per observation, O(T²) for a dense curve. Here
the change points of each run are grouped into at most ``bins`` consecutive groups, never across an observed
step nor across a change of sign, each group represented by its total change and its change-weighted η and
S1; the (observations × groups) matrix of S_k(t) does not depend on the parameters and is built once. An
evaluation costs O(observations × groups); with ``bins=None`` every change point is its own group (exact,
O(observations × changes)). With the default 512 groups per run the loss differs from the exact sum by about
1e-5 relative on the published runs (measured with the published coefficients at every released observation:
at most 8.2e-6 on the 24,000-step runs and 1.3e-5 on cosine_72000, whose 70,000 change points share the same
512 groups; constant and step schedules 2e-7; tested), far below the noise of any loss curve. Groups are
narrowest just before each observed step, where one point per group would cost most accuracy.
"""

from __future__ import annotations

import copy
from typing import Mapping, Sequence

import numpy as np

from ..exceptions import LawError
from ..schedules import Schedule, annealing_area, annealing_area_derivative
from .base import Law, Param
from .registry import register

__all__ = ["ScheduleSet", "CurveLaw", "LRAnnealing", "LRAnnealingN", "MultiPower"]


class ScheduleSet:
    """Named schedules, in order: ``run_index`` i refers to the i-th."""

    def __init__(self, schedules: Mapping[str, Schedule] | Sequence[tuple[str, Schedule]]):
        items = list(schedules.items()) if isinstance(schedules, Mapping) else list(schedules)
        self.names = tuple(str(n) for n, _ in items)
        self.schedules = tuple(s for _, s in items)
        if len(set(self.names)) != len(self.names):
            raise LawError("schedule names must be unique")

    def __len__(self) -> int:
        return len(self.schedules)

    def __getitem__(self, i: int) -> Schedule:
        return self.schedules[int(i)]

    def index(self, name: str) -> int:
        return self.names.index(str(name))

    def to_dict(self) -> dict:
        return {"runs": [{"run": n, **s.to_dict()} for n, s in zip(self.names, self.schedules)]}

    @classmethod
    def from_dict(cls, d: Mapping) -> "ScheduleSet":
        return cls([(r["run"], Schedule.from_dict(r)) for r in d["runs"]])

    def __eq__(self, other) -> bool:
        return isinstance(other, ScheduleSet) and self.names == other.names and self.schedules == other.schedules

    def __hash__(self) -> int:
        return hash(self.names)


class CurveLaw(Law):
    """Base of laws of whole loss curves (see the module docstring)."""

    inputs = ("run_index", "step")
    input_docs = {"run_index": "index of the run's schedule", "step": "optimizer step"}
    curve = True

    def __init__(self, schedules: ScheduleSet | Mapping | None = None, params=None):
        if isinstance(schedules, Mapping) and "runs" in schedules:
            schedules = ScheduleSet.from_dict(schedules)
        elif isinstance(schedules, Mapping):
            schedules = ScheduleSet(schedules)
        self.schedules = schedules
        self._cache: dict = {}
        super().__init__(params)

    @property
    def config(self) -> dict:
        return {"schedules": None if self.schedules is None else self.schedules.to_dict()}

    def bind(self, schedules: ScheduleSet | Mapping[str, Schedule]) -> "CurveLaw":
        """The same law (parameters, bounds, ties) on other schedules."""
        law = copy.copy(self)
        law.schedules = schedules if isinstance(schedules, ScheduleSet) else ScheduleSet(schedules)
        law._cache = {}
        return law

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def _locate(self, X) -> tuple[np.ndarray, np.ndarray]:
        if self.schedules is None:
            raise LawError(f"law '{self.name}' is not bound to schedules; use law.bind({{run: schedule}}) or "
                           "fit_curves")
        run = np.asarray(X["run_index"]).astype(np.int64).ravel()
        step = np.asarray(X["step"]).astype(np.int64).ravel()
        if run.size and (run.min() < 0 or run.max() >= len(self.schedules)):
            raise LawError(f"run index out of range: the law has {len(self.schedules)} schedules")
        lengths = np.array([s.steps for s in self.schedules])
        if step.size and (step.min() < 0 or np.any(step >= lengths[run])):
            bad = int(np.flatnonzero(step >= lengths[run])[0]) if np.any(step >= lengths[run]) else 0
            raise LawError(f"step {step[bad]} is beyond the end of schedule {self.schedules.names[run[bad]]!r} "
                           f"({lengths[run[bad]]} steps)")
        return run, step

    def _key(self, X, *extra) -> tuple:
        return (np.asarray(X["run_index"]).tobytes(), np.asarray(X["step"]).tobytes(), *extra)

    def _s1(self, X) -> np.ndarray:
        key = self._key(X, "S1")
        if key not in self._cache:
            run, step = self._locate(X)
            s1 = np.empty(run.size)
            for r in np.unique(run):
                mask = run == r
                s1[mask] = self.schedules[r].S1()[step[mask]]
            self._cache[key] = s1
        return self._cache[key]

    def learning_rate(self, X) -> np.ndarray:
        """The learning rate at each observation."""
        run, step = self._locate(X)
        return np.array([self.schedules[r].lr[t] for r, t in zip(run, step)])


def _batch(values) -> list:
    """Distinct values of a parameter batch (scalar or (S, 1) array) with the rows that use each."""
    arr = np.asarray(values, dtype=float)
    flat = arr.reshape(-1)
    uniques, inverse = np.unique(flat, return_inverse=True)
    return [(float(u), np.flatnonzero(inverse == i)) for i, u in enumerate(uniques)]


class _AnnealingFeatures:
    """S2 and dS2/dλ at the observations of X, computed once per distinct λ."""

    @staticmethod
    def s2(law: CurveLaw, X, lam, derivative: bool = False) -> np.ndarray:
        lam = np.asarray(lam, dtype=float)
        n = np.asarray(X["run_index"]).size
        out = np.empty((lam.reshape(-1).size, n)) if lam.ndim else np.empty((1, n))
        run, step = law._locate(X)
        for value, rows in _batch(lam):
            key = law._key(X, "dS2" if derivative else "S2", value)
            if key not in law._cache:
                column = np.empty(n)
                if 0 <= value < 1:
                    for r in np.unique(run):
                        schedule = law.schedules[r]
                        fn = annealing_area_derivative if derivative else annealing_area
                        column[run == r] = fn(schedule.lr, value, schedule.warmup)[step[run == r]]
                else:
                    column[:] = np.nan
                law._cache[key] = column
            out[rows] = law._cache[key]
        return out if lam.ndim else out[0]


@register
class LRAnnealing(CurveLaw):
    """The LR-annealing law ``L(t) = L0 + A·S1^−alpha − C·S2(lam)`` (Tissue, Wang & Wang 2024).

    Convention: S1 = Σ η_i is the forward area, the warmup included; S2 = Σ m_i with
    m_i = lam·m_{i−1} + (η_{i−1} − η_i) is the annealing area, counting only the learning-rate changes after
    the warmup, and the fit starts after the warmup (:func:`~scalinglaws.fitting.curves.fit_curves`). Both are
    choices, not checked against the authors' code (none was available): the warmup's rise would enter S2 as
    negative drops that the momentum carries for about 1/(1 − lam) steps, predicting a loss *increase* right
    after the warmup, and the loss during the warmup is ruled by the ramp, not by annealing.

    Convention: lam is fitted (bounds [0, 0.99999], starts 0.9, 0.99, 0.999), not fixed at the 0.999 usually
    quoted. It sets the memory of the annealing momentum (1/(1 − lam) steps): on Hägele et al.'s WSD runs the
    fitted value is 0.955–0.995 and 0.999 under-predicts the gain of cooldowns of a few thousand steps; on the
    Multi-Power-law paper's runs it is 0.998–0.999 (docs/benchmarks.md).
    """

    name = "lr-annealing"
    formula = "L = L0 + A*S1^-alpha - C*S2(lam)"
    latex = r"L = L_0 + A\,S_1^{-\alpha} - C\,S_2(\lambda)"
    reference = "Tissue, Wang & Wang 2024, Scaling Law with Learning Rate Annealing (arXiv:2408.11029)"
    default_params = (
        Param("L0", bounds=(0.0, np.inf), grid=(1.5, 2.5, 3.5), log=True, unit="nats/token", doc="loss floor"),
        Param("A", bounds=(0.0, np.inf), grid=(0.3, 1.0, 3.0), log=True, doc="scale of the forward-area term"),
        Param("alpha", bounds=(0.0, 3.0), grid=(0.3, 0.6), doc="forward-area exponent"),
        Param("C", bounds=(0.0, np.inf), grid=(1.0,), doc="gain per unit of annealing area"),
        Param("lam", bounds=(0.0, 0.99999), grid=(0.9, 0.99, 0.999), doc="momentum of the annealing area"),
    )

    def evaluate(self, X, L0, A, alpha, C, lam):
        s1 = self._s1(X)
        return L0 + A * s1**-alpha - C * _AnnealingFeatures.s2(self, X, lam)

    def gradient(self, X, L0, A, alpha, C, lam):
        s1 = self._s1(X)
        s2 = _AnnealingFeatures.s2(self, X, lam)
        ds2 = _AnnealingFeatures.s2(self, X, lam, derivative=True)
        term = s1**-alpha
        one = np.ones_like(term * s2)
        return (one, term * one, -A * term * np.log(s1) * one, -s2 * one, -C * ds2 * one)

    def data_grid(self, X, y):
        s2_max = float(np.nanmax(_AnnealingFeatures.s2(self, X, 0.99))) or 1.0
        return {"L0": tuple(np.min(y) * np.array([0.6, 0.8, 0.95])),
                "C": tuple(np.array([0.01, 0.1, 0.5]) * np.min(y) / s2_max)}


@register
class LRAnnealingN(CurveLaw):
    """``L = L0 + A·S1^−alpha + B·N^−beta − C·S2(lam)·N^gamma``: the LR-annealing law across model sizes.

    Convention: S1, S2 and lam as in ``lr-annealing``; the N-dependent form is from the authors' notes and
    was not verified against the paper.
    """

    name = "lr-annealing-N"
    inputs = ("run_index", "step", "N")
    input_docs = {**CurveLaw.input_docs, "N": "model parameters"}
    formula = "L = L0 + A*S1^-alpha + B*N^-beta - C*S2(lam)*N^gamma"
    latex = r"L = L_0 + A\,S_1^{-\alpha} + B\,N^{-\beta} - C\,S_2(\lambda)\,N^{\gamma}"
    reference = ("Tissue, Wang & Wang 2024 (arXiv:2408.11029); the N-dependent form is from the authors' notes, "
                 "not verified against the paper")
    default_params = (
        Param("L0", bounds=(0.0, np.inf), grid=(1.0, 2.0), log=True, unit="nats/token", doc="loss floor"),
        Param("A", bounds=(0.0, np.inf), grid=(0.3, 1.0), log=True, doc="scale of the forward-area term"),
        Param("alpha", bounds=(0.0, 3.0), grid=(0.3, 0.6), doc="forward-area exponent"),
        Param("B", bounds=(0.0, np.inf), grid=(10.0, 1000.0), log=True, doc="model-size term coefficient"),
        Param("beta", bounds=(0.0, 3.0), grid=(0.2, 0.4), doc="model-size exponent"),
        Param("C", bounds=(0.0, np.inf), grid=(1.0,), doc="gain per unit of annealing area"),
        Param("gamma", bounds=(-2.0, 2.0), grid=(0.0,), doc="size dependence of the annealing gain"),
        Param("lam", bounds=(0.0, 0.99999), grid=(0.99, 0.999), doc="momentum of the annealing area"),
    )

    def evaluate(self, X, L0, A, alpha, B, beta, C, gamma, lam):
        s1, N = self._s1(X), np.asarray(X["N"], dtype=float)
        return L0 + A * s1**-alpha + B * N**-beta - C * _AnnealingFeatures.s2(self, X, lam) * N**gamma

    def gradient(self, X, L0, A, alpha, B, beta, C, gamma, lam):
        s1, N = self._s1(X), np.asarray(X["N"], dtype=float)
        s2 = _AnnealingFeatures.s2(self, X, lam)
        ds2 = _AnnealingFeatures.s2(self, X, lam, derivative=True)
        t1, tn, tg = s1**-alpha, N**-beta, N**gamma
        one = np.ones_like(t1 * s2 * tn * tg)
        return (one, t1 * one, -A * t1 * np.log(s1) * one, tn * one, -B * tn * np.log(N) * one, -s2 * tg * one,
                -C * s2 * tg * np.log(N) * one, -C * ds2 * tg * one)

    def data_grid(self, X, y):
        s2_max = float(np.nanmax(_AnnealingFeatures.s2(self, X, 0.99))) or 1.0
        return {"L0": tuple(np.min(y) * np.array([0.5, 0.8])),
                "C": tuple(np.array([0.01, 0.1, 0.5]) * np.min(y) / s2_max)}


def _groups(changes: np.ndarray, signs: np.ndarray, cuts: np.ndarray, bins: int | None) -> list[np.ndarray]:
    """Consecutive groups of change points, never across a cut (an observed step) or a change of sign.

    Within a segment the groups double in width going back from its end (1, 2, 4, ... change points, capped
    so that the run has about ``bins`` groups): a group right before an observed step is where representing
    it by one point would cost accuracy, and there the groups are narrowest.
    """
    if changes.size == 0:
        return []
    boundary = np.zeros(changes.size, dtype=bool)
    boundary[1:] = (signs[1:] != signs[:-1]) | (np.searchsorted(cuts, changes[1:], side="left")
                                                 != np.searchsorted(cuts, changes[:-1], side="left"))
    segments = np.split(np.arange(changes.size), np.flatnonzero(boundary))
    if bins is None:
        return [changes[[i]] for seg in segments for i in seg]
    cap = max(1, int(np.ceil(changes.size / bins)))
    groups = []
    for seg in segments:
        end, width, pieces = seg.size, 1, []
        while end > 0:
            start = max(0, end - width)
            pieces.append(changes[seg[start:end]])
            end, width = start, min(2 * width, cap)
        groups.extend(reversed(pieces))
    return groups


@register
class MultiPower(CurveLaw):
    """The Multi-Power law of Luo et al. (2025) (see the module docstring for the form and its cost).

    Convention: the authors' code (thu-yao-01-luo/MultiPowerLaw ``src/models.py``): S1 + S_W is the cumulative
    sum of the whole schedule, warmup included (no separate S_W); the drop sum runs over every step where the
    learning rate changes, warmup increases included; η is floored at 1e-10 in η^−gamma; the learning rate is
    absolute (not η/η_peak), so C carries units of η^(gamma−1) and the authors' C ≈ 2 belongs to their peak
    3e-4. How it is fitted by default (the drop shape held at the authors' values) and why is in
    :data:`~scalinglaws.fitting.curves.RECIPES`; ``recipe="luo2025"`` is their own early-stopped fit.
    """

    name = "multi-power"
    formula = "L = L0 + A*S1^-alpha + B*sum_k (eta_k - eta_{k-1})*(1 - (C*eta_k^-gamma*S_k(t) + 1)^-beta)"
    latex = (r"L = L_0 + A\,S_1^{-\alpha} + B\sum_{k\le t}(\eta_k-\eta_{k-1})"
             r"\left[1-\left(C\,\eta_k^{-\gamma} S_k(t)+1\right)^{-\beta}\right]")
    reference = ("Luo et al. 2025, A Multi-Power Law for Loss Curve Prediction Across Learning Rate Schedules "
                 "(arXiv:2503.12811)")
    default_params = (
        Param("L0", bounds=(0.0, np.inf), grid=(2.0, 3.0), log=True, unit="nats/token", doc="loss floor"),
        Param("A", bounds=(0.0, np.inf), grid=(0.5,), log=True, doc="scale of the forward-area term"),
        Param("alpha", bounds=(0.0, 3.0), grid=(0.5,), doc="forward-area exponent"),
        Param("B", bounds=(0.0, np.inf), grid=(100.0, 500.0), log=True, doc="scale of the loss drop"),
        Param("C", bounds=(0.0, np.inf), grid=(0.5, 2.0), log=True, doc="speed of the loss drop"),
        Param("beta", bounds=(0.0, 5.0), grid=(0.5,), doc="saturation exponent of the drop"),
        Param("gamma", bounds=(0.0, 3.0), grid=(0.5,), doc="learning-rate exponent of the drop"),
    )
    #: The smallest learning rate used in eta^-gamma (as the authors' code).
    min_lr = 1e-10
    #: Not the batched polish: an evaluation is dominated by its (observations × change groups) arithmetic,
    #: not by call overhead, so batching starts saves nothing, and Gauss-Newton steps (batched or scipy's
    #: trf) drift into the law's degenerate valley (B → ∞, beta → 0) and crawl there for hundreds of steps
    #: where L-BFGS-B does not (the zoo example: 1,660 steps, 8x slower than L-BFGS-B).
    batched_polish = False

    def __init__(self, schedules=None, params=None, bins: int | None = 512):
        if bins is not None and bins < 1:
            raise LawError(f"bins must be a positive number of groups or None (exact), got {bins!r}")
        self.bins = bins
        super().__init__(schedules, params)

    @property
    def config(self) -> dict:
        return {**super().config, "bins": self.bins}

    @property
    def cost_per_point(self) -> int:
        """Work per observation relative to a law of scalar inputs (used to size evaluation chunks)."""
        return max(1, min(self.bins or 4096, 4096))

    def _structure(self, X):
        """(W, gap, eta): per observation and change group, the change (0 for groups after the observation),
        S1(t) − S1(k−1) at the group, and the group's η."""
        key = self._key(X, "mpl", self.bins)
        if key in self._cache:
            return self._cache[key]
        run, step = self._locate(X)
        n = run.size
        blocks = []
        for r in np.unique(run):
            rows = np.flatnonzero(run == r)
            schedule = self.schedules[r]
            lr = schedule.lr
            lr_sum = np.cumsum(lr)
            change = np.zeros_like(lr)
            change[1:] = lr[1:] - lr[:-1]
            last = int(step[rows].max())
            points = np.flatnonzero(change[: last + 1] != 0)
            points = points[points >= 1]
            groups = _groups(points, np.sign(change[points]), np.unique(step[rows]), self.bins)
            total = np.array([change[g].sum() for g in groups])
            weight = [np.abs(change[g]) for g in groups]
            eta = np.array([np.average(np.maximum(lr[g], self.min_lr), weights=w) for g, w in zip(groups, weight)])
            s1_before = np.array([np.average(lr_sum[g - 1], weights=w) for g, w in zip(groups, weight)])
            end = np.array([g[-1] for g in groups], dtype=np.int64)
            t = step[rows]
            reached = end[None, :] <= t[:, None]
            blocks.append((rows, np.where(reached, total[None, :], 0.0),
                           np.where(reached, lr_sum[t][:, None] - s1_before[None, :], 0.0), eta))
        K = sum(b[3].size for b in blocks)
        W, gap, eta = np.zeros((n, K)), np.zeros((n, K)), np.ones(K)
        offset = 0
        for rows, w, g, e in blocks:
            W[rows, offset : offset + e.size] = w
            gap[rows, offset : offset + e.size] = g
            eta[offset : offset + e.size] = e
            offset += e.size
        self._cache[key] = (W, gap, eta)
        return W, gap, eta

    def _drop_terms(self, X, C, beta, gamma):
        W, gap, eta = self._structure(X)
        C, beta, gamma = (np.asarray(v, dtype=float)[..., None] for v in (C, beta, gamma))
        x = C * eta ** (-gamma) * gap  # (..., n, K)
        log_base = np.log1p(x)
        return W, x, log_base, np.exp(-beta * log_base), np.log(eta)

    def _value_and_gradient(self, X, L0, A, alpha, B, C, beta, gamma, gradient: bool):
        s1 = self._s1(X)
        W, x, log_base, power, log_eta = self._drop_terms(X, C, beta, gamma)
        drop = np.sum(W * (1.0 - power), axis=-1)
        term = s1**-alpha
        value = L0 + A * term + B * drop
        if not gradient:
            return value, None
        Bx = np.asarray(B, dtype=float)
        slope = W * np.asarray(beta, dtype=float)[..., None] * power / (1.0 + x)  # W times dG/dx
        with np.errstate(divide="ignore", invalid="ignore"):
            d_c = Bx * np.sum(slope * x, axis=-1) / np.asarray(C, dtype=float)
        d_beta = Bx * np.sum(W * power * log_base, axis=-1)
        d_gamma = -Bx * np.sum(slope * x * log_eta, axis=-1)
        one = np.ones_like(value)
        return value, (one, term * one, -A * term * np.log(s1) * one, drop * one, d_c * one, d_beta * one,
                       d_gamma * one)

    def evaluate(self, X, *p):
        return self._value_and_gradient(X, *p, gradient=False)[0]

    def gradient(self, X, *p):
        return self._value_and_gradient(X, *p, gradient=True)[1]

    def log_evaluate_and_gradient(self, X, *p):
        value, grads = self._value_and_gradient(X, *p, gradient=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(value), tuple(g / value for g in grads)

    def data_starts(self, X, y):
        """The authors' start (Luo et al. 2025): the reduced law L0 + A·S1^−alpha − B·(η_max − η_t), fitted
        with the Huber loss (δ = 1e-3) on log residuals from a small grid around a log-log regression of the
        loss on S1, then C = 1, beta = gamma = 0.5."""
        from scipy.optimize import least_squares
        from scipy.stats import linregress

        s1 = self._s1(X)
        drop = self.learning_rate(X)
        drop = drop.max() - drop
        low = float(np.min(y))
        with np.errstate(all="ignore"):
            slope, intercept, *_ = linregress(np.log(s1), np.log(y - low + 0.01))
        if not (np.isfinite(slope) and np.isfinite(intercept)):  # e.g. an observation at S1 = 0
            slope, intercept = -0.5, 0.0

        def residual(p):
            with np.errstate(all="ignore"):
                return np.log(np.maximum(p[0] + p[1] * s1 ** -p[2] - p[3] * drop, 1e-10)) - np.log(y)

        best = None
        for l0 in np.linspace(low - 0.2, low + 0.2, 5):
            for b in (100.0, 550.0, 1000.0):
                start = np.clip([l0, np.exp(intercept), -slope, b], 1e-6, None)
                try:
                    res = least_squares(residual, start, bounds=(0, np.inf), loss="huber", f_scale=1e-3,
                                        x_scale="jac", max_nfev=2000)
                except ValueError:  # residuals not finite at the start
                    continue
                if np.isfinite(res.cost) and (best is None or res.cost < best.cost):
                    best = res
        if best is None:
            return []
        L0, A, alpha, B = best.x
        return [{"L0": L0, "A": A, "alpha": alpha, "B": B, "C": 1.0, "beta": 0.5, "gamma": 0.5}]
