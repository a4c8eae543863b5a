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

**Cost.** Evaluations are linear in the number of observations and in the schedule length, in bounded memory.

* LR-annealing laws gather S1 and S2 from per-schedule arrays. S2(λ) and dS2/dλ (first-order filters) are
  computed once per distinct λ, only up to the last step observed in each schedule, and kept for the last few
  values of λ: O(observations + steps) time and memory.
* The Multi-Power law's sum costs O(T) per observation summed naively, O(T²) for a curve logged at every step.
  Here (:mod:`scalinglaws.laws._drop`) the change points of each sign form a binary tree of aligned blocks,
  each with a 2-point Gauss rule, and the observations the same tree; a pair of blocks is used as soon as its
  changes are narrow for their distance in forward area, else split, down to single changes summed exactly
  near each observation. Blocks of more than 8 observations are reached through 8-point Chebyshev
  interpolation in S1 (a one-sided fast multipole method). The plan does not depend on the parameters; it is
  built once per set of observations (kept within a memory budget, else rebuilt at each evaluation in pieces
  of 65,536 observations). An evaluation then costs about 14 kernel terms per observation on a curve logged at
  every step, O(log T) per observation on sparse ones, and the gradient is that of the approximation, exactly.
  Against the exact sum (``bins=None``: every change point, in chunks) the loss differs by less than 1e-5
  relative, measured at most 1.6e-6 (tests/test_curve_cost.py): the published runs (at their observed steps
  and at every step) with the published and other parameters, the WSD and cosine schedules of the
  lr-scheduling runs, decays to 0, schedules rebuilt from logs, pauses, re-warmups, restarts, cyclic and step
  schedules. The error grows with a schedule's total variation: one that jitters from step to step (total
  variation over 10 times its range) gets a warning (0.1 % jitter: 4e-6; 1 %: 7e-5).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Mapping, Sequence

import numpy as np

from ..exceptions import DataWarning, LawError, warn
from ..schedules import Schedule, annealing_area, annealing_area_derivative
from ._drop import MIN_LR, ChangeTree, DropPlan, exact_sums
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
        self._cache = _Caches()
        super().__init__(params)

    @property
    def config(self) -> dict:
        return {"schedules": None if self.schedules is None else self.schedules.to_dict()}

    def bind(self, schedules: ScheduleSet | Mapping[str, Schedule]) -> "CurveLaw":
        """The same law (parameters, bounds, ties) on other schedules."""
        law = copy.copy(self)
        law.schedules = schedules if isinstance(schedules, ScheduleSet) else ScheduleSet(schedules)
        law._cache = _Caches()
        return law

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = _Caches()
        return state

    def _locate(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Run index and step of every observation (int64), checked against the schedules."""
        obs = self._observed(X)
        return obs.run, obs.step

    def _observed(self, X) -> "_Observations":
        """The observations of X, remembered for the last few sets (a fit evaluates the same X many times)."""
        if self.schedules is None:
            raise LawError(f"law '{self.name}' is not bound to schedules; use law.bind({{run: schedule}}) or "
                           "fit_curves")
        if self._cache.schedules is not self.schedules:  # schedules replaced without bind(): start afresh
            self._cache = _Caches()
            self._cache.schedules = self.schedules
        raw_run = np.asarray(X["run_index"], dtype=float).ravel()
        raw_step = np.asarray(X["step"], dtype=float).ravel()
        key = _fingerprint(raw_run, raw_step)
        cache = self._cache.observations
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        run, step = raw_run.astype(np.int64), raw_step.astype(np.int64)
        if run.size and (run.min() < 0 or run.max() >= len(self.schedules)):
            raise LawError(f"run index out of range: the law has {len(self.schedules)} schedules")
        lengths = self._flat()[0]
        if step.size:
            beyond = step >= lengths[run]
            if step.min() < 0 or beyond.any():
                bad = int(np.flatnonzero(beyond)[0]) if beyond.any() else 0
                raise LawError(f"step {step[bad]} is beyond the end of schedule {self.schedules.names[run[bad]]!r} "
                               f"({lengths[run[bad]]} steps)")
        return _Caches.remember(cache, key, _Observations(key, run, step), _Caches.OBSERVATION_SETS)

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Lengths and offsets of the schedules, and their learning rates and forward areas end to end."""
        if self._cache.flat is None:
            lengths = np.array([s.steps for s in self.schedules], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            lr = np.concatenate([s.lr for s in self.schedules])
            s1 = np.concatenate([np.cumsum(s.lr) for s in self.schedules])
            self._cache.flat = (lengths, offsets, lr, s1)
        return self._cache.flat

    def _s1(self, X) -> np.ndarray:
        obs = self._observed(X)
        if obs.s1 is None:
            _, offsets, _, s1 = self._flat()
            obs.s1 = s1[offsets[obs.run] + obs.step]
        return obs.s1

    def learning_rate(self, X) -> np.ndarray:
        """The learning rate at each observation."""
        run, step = self._locate(X)
        _, offsets, lr, _ = self._flat()
        return lr[offsets[run] + step]


class _Caches:
    """What a curve law keeps between evaluations, all bounded and keyed cheaply (never by the inputs' bytes).

    * ``flat``: the bound schedules' learning rates and forward areas, end to end (O(total steps));
    * ``observations``: the checked run indices and steps (and forward areas) of the last ``OBSERVATION_SETS``
      sets of observations, keyed by a fingerprint of them;
    * ``annealing``: S2 and dS2/dλ of the last ``ANNEALING_VALUES`` momenta λ, each only up to the last step
      observed in each schedule (O(steps needed) each);
    * ``plans``: the Multi-Power law's evaluation plans (which change points act on which observations) for the
      last ``PLAN_SETS`` sets of observations, keyed by a fingerprint of their run indices and steps, holding at
      most ``PLAN_BYTES`` together (plans beyond the budget are rebuilt at each evaluation);
    * ``drop``: the Multi-Power drop sums at the last parameter values (:class:`_LastSums`).
    """

    OBSERVATION_SETS = 2
    ANNEALING_VALUES = 4
    PLAN_SETS = 2
    PLAN_BYTES = 384 * 2**20

    def __init__(self):
        self.schedules = None  # the ScheduleSet all of this describes
        self.flat = None
        self.observations: OrderedDict = OrderedDict()
        self.annealing: OrderedDict = OrderedDict()
        self.plans: OrderedDict = OrderedDict()
        self.drop = _LastSums()

    @staticmethod
    def remember(store: OrderedDict, key, value, size: int):
        store[key] = value
        store.move_to_end(key)
        while len(store) > size:
            store.popitem(last=False)
        return value


def _plan_bytes(groups: list) -> int:
    """Memory held by the Multi-Power plans (and change trees) of one set of observations."""
    return sum((tree.nbytes if tree is not None else 0) + sum(plan.nbytes for _, _, plan in pieces if plan is not None)
               for *_, tree, pieces in groups)


_WEIGHTS = np.empty(0)

#: Distinct observed steps per Multi-Power plan: larger sets are planned in pieces (bounded memory).
_TARGETS_PER_PLAN = 1 << 16


def _fingerprint(run: np.ndarray, step: np.ndarray) -> tuple:
    """A cheap O(n) key for a set of observations (float arrays): their sums and sums weighted by fixed
    pseudo-random weights, which any change of a run index or step alters."""
    global _WEIGHTS
    n = run.size
    if _WEIGHTS.size < n:
        _WEIGHTS = np.random.default_rng(2025).random(max(n, 2 * _WEIGHTS.size)) + 0.5
    w = _WEIGHTS[:n]
    return n, float(run.sum()), float(step.sum()), float(run @ w), float(step @ w)


class _LastSums:
    """The drop sums at the last parameters evaluated (one parameter set).

    Least-squares solvers evaluate the loss at a point, then its Jacobian at the same point when they accept
    it. Once that pattern is seen, a value-only evaluation computes the gradient sums too (the value is half
    of their cost) and the Jacobian that follows is free.
    """

    def __init__(self):
        self.key, self.values, self.pending, self.fuse = None, None, None, False

    def sums(self, observations, params: tuple, gradient: bool, compute) -> np.ndarray:
        key = (observations, params)
        if key == self.key and (gradient <= (self.values.shape[0] == 4)):
            return self.values if gradient else self.values[:1]
        if gradient and key == self.pending:
            self.fuse = True
        self.pending = None if gradient else key
        self.key, self.values = key, compute(gradient or self.fuse)
        return self.values if gradient else self.values[:1]


class _Observations:
    """Checked run indices and steps of a set of observations, its fingerprint and (lazily) forward areas."""

    __slots__ = ("key", "run", "step", "s1", "log_s1")

    def __init__(self, key, run, step):
        self.key, self.run, self.step, self.s1, self.log_s1 = key, run, step, None, None


def _batch(values) -> list:
    """Distinct values of a parameter batch (scalar or (S, 1) array) with the rows that use each."""
    arr = np.asarray(values, dtype=float)
    flat = arr.reshape(-1)
    uniques, inverse = np.unique(flat, return_inverse=True)
    return [(float(u), np.flatnonzero(inverse == i)) for i, u in enumerate(uniques)]


class _AnnealingFeatures:
    """S2 and dS2/dλ at the observations of X, computed once per distinct λ and only up to the last step
    observed in each schedule, kept for the last few λ values (:class:`_Caches`)."""

    @staticmethod
    def s2(law: CurveLaw, X, lam, derivative: bool = False) -> np.ndarray:
        lam = np.asarray(lam, dtype=float)
        run, step = law._locate(X)
        n = run.size
        out = np.empty((lam.reshape(-1).size, n)) if lam.ndim else np.empty((1, n))
        for value, rows in _batch(lam):
            if 0 <= value < 1:
                extent, offsets, s2, ds2 = _AnnealingFeatures._areas(law, value, run, step, derivative)
                out[rows] = (ds2 if derivative else s2)[offsets[run] + step]
            else:
                out[rows] = np.nan
        return out if lam.ndim else out[0]

    @staticmethod
    def _areas(law: CurveLaw, lam: float, run: np.ndarray, step: np.ndarray, derivative: bool) -> list:
        """[extent, offsets, S2, dS2/dλ or None] of every schedule up to its extent (last step needed)."""
        cache = law._cache.annealing
        entry = cache.get(lam)
        if entry is None or (step.size and np.any(step > entry[0][run])):
            extent = np.full(len(law.schedules), -1, dtype=np.int64)
            np.maximum.at(extent, run, step)
            if entry is not None:
                extent = np.maximum(extent, entry[0])
            offsets = np.concatenate([[0], np.cumsum(extent + 1)])
            s2 = np.concatenate([annealing_area(sched.lr[: e + 1], lam, sched.warmup) if e >= 0 else np.empty(0)
                                 for sched, e in zip(law.schedules, extent)])
            entry = [extent, offsets, s2, None]
        if derivative and entry[3] is None:
            entry[3] = np.concatenate([annealing_area_derivative(sched.lr[: e + 1], lam, sched.warmup) if e >= 0
                                       else np.empty(0) for sched, e in zip(law.schedules, entry[0])])
        return _Caches.remember(cache, lam, entry, _Caches.ANNEALING_VALUES)


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
    min_lr = MIN_LR
    #: Not the batched polish: an evaluation is dominated by its per-observation kernel arithmetic, not by call
    #: overhead, so batching starts saves nothing, and Gauss-Newton steps (batched or scipy's trf) drift into the
    #: law's degenerate valley (B → ∞, beta → 0) and crawl there for hundreds of steps where L-BFGS-B does not
    #: (the zoo example: 1,660 steps, 8x slower than L-BFGS-B).
    batched_polish = False

    def __init__(self, schedules=None, params=None, bins: int | None = 512):
        # bins=None: the exact sum over every change point; any number: the fast evaluation (the number itself
        # is kept for the configurations of saved fits, from when it counted groups of change points)
        if bins is not None and bins < 1:
            raise LawError(f"bins must be a positive number or None (the exact sum), got {bins!r}")
        self.bins = bins
        super().__init__(schedules, params)

    @property
    def config(self) -> dict:
        return {**super().config, "bins": self.bins}

    @property
    def exact(self) -> bool:
        """Whether the drop is the plain sum over every change point (``bins=None``), not the fast evaluation."""
        return self.bins is None

    @property
    def cost_per_point(self) -> int:
        """Work per observation relative to a law of scalar inputs (used to size evaluation chunks): about 25
        kernel terms per observation for the fast evaluation, one per change point for the exact sum."""
        return 4096 if self.exact else 32

    def _plans(self, obs: "_Observations") -> list:
        """Per run of X: (run, rows of X, index of each row's step in the run's distinct steps, the distinct
        steps, the run's change tree, pieces (lo, hi, plan) of the distinct steps). Kept for the last few sets
        of observations (:class:`_Caches`); a piece whose plan is beyond the memory budget has ``plan`` None and
        is planned at each evaluation from the change tree, kept for that (else None)."""
        key, run, step = obs.key, obs.run, obs.step
        cache = self._cache.plans
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        order = np.argsort(run, kind="stable")
        runs, starts = np.unique(run[order], return_index=True)
        kept = list(cache.values())[-(_Caches.PLAN_SETS - 1):] if _Caches.PLAN_SETS > 1 else []
        groups, budget = [], _Caches.PLAN_BYTES - sum(_plan_bytes(g) for g in kept)  # one budget for all sets
        for r, rows in zip(runs, np.split(order, starts[1:])):
            targets, inverse = np.unique(step[rows], return_inverse=True)
            if rows.size == run.size and targets.size == rows.size and np.all(np.diff(step) > 0):
                rows = inverse = None  # one run observed at increasing steps: the sums are in X's order
            pieces, tree = [], None
            if self.exact:
                pieces.append((0, targets.size, None))
            else:
                self._check_variation(int(r), int(targets[-1]))
                tree = ChangeTree(self.schedules[r].lr, int(targets[-1]))
                for lo in range(0, targets.size, _TARGETS_PER_PLAN):
                    hi = min(lo + _TARGETS_PER_PLAN, targets.size)
                    plan = DropPlan(self.schedules[r].lr, targets[lo:hi], tree=tree)
                    if plan.nbytes > budget:
                        plan = None
                    else:
                        budget -= plan.nbytes
                    pieces.append((lo, hi, plan))
                if all(plan is not None for _, _, plan in pieces):
                    tree = None
                else:
                    budget -= tree.nbytes
            groups.append((int(r), rows, inverse, targets, tree, pieces))
        return _Caches.remember(cache, key, groups, _Caches.PLAN_SETS)

    #: Total variation of a schedule, in units of its range, beyond which the fast evaluation warns (its error
    #: grows as about 1e-6 times this ratio).
    ROUGH = 10.0

    def _check_variation(self, r: int, last: int) -> None:
        """Warn when a schedule jitters: the fast evaluation's error grows with its total variation."""
        lr = self.schedules[r].lr[: last + 1]
        span = float(lr.max() - lr.min())
        variation = float(np.abs(np.diff(lr)).sum())
        if span > 0 and variation > self.ROUGH * span:
            warn(f"the learning rate of schedule {self.schedules.names[r]!r} jitters (total variation "
                 f"{variation / span:.0f}x its range): the fast Multi-Power evaluation is accurate to about "
                 f"{1e-6 * variation / span:.0e} relative here instead of 2e-6; use MultiPower(bins=None) for the "
                 "exact sum", DataWarning)

    def _drop(self, X, C, beta, gamma, gradient: bool) -> np.ndarray:
        """The drop sum at every observation and, for the gradient, the sums of W·p·log(1 + x), W·p·v/(1 + x)
        and W·p·v·log η/(1 + x) (:mod:`._drop`): shape (channels, *batch, n) for parameters of shape () or
        (*batch, 1)."""
        obs = self._observed(X)
        n = obs.run.size
        C, beta, gamma = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (C, beta, gamma)))
        shape = C.shape
        if shape and shape[-1] != 1:  # parameters per observation: evaluate each distinct triple
            full = np.broadcast_to(np.stack([C, beta, gamma], axis=-1), shape[:-1] + (n, 3)).reshape(-1, 3)
            triples, index = np.unique(full, axis=0, return_inverse=True)
            sums = self._drop(X, triples[:, :1], triples[:, 1:2], triples[:, 2:], gradient)
            column = np.tile(np.arange(n), full.shape[0] // n)
            return sums[:, index.ravel(), column].reshape((sums.shape[0],) + shape[:-1] + (n,))
        flat = [v.reshape(-1) for v in (C, beta, gamma)]
        if flat[0].size == 1:
            out = self._cache.drop.sums(obs.key, tuple(float(v[0]) for v in flat), gradient,
                                        lambda fused: self._drop_sums(obs, flat, fused))
        else:
            out = self._drop_sums(obs, flat, gradient)
        return out.reshape((out.shape[0],) + shape[:-1] + (n,)) if shape else out[:, 0]

    def _drop_sums(self, obs: "_Observations", flat: list, gradient: bool) -> np.ndarray:
        n = obs.run.size
        out = None
        for r, rows, inverse, targets, tree, pieces in self._plans(obs):
            lr = self.schedules[r].lr
            parts = []
            for lo, hi, plan in pieces:
                if self.exact:
                    parts.append(exact_sums(lr, targets[lo:hi], *flat, gradient))
                else:
                    parts.append((plan or DropPlan(lr, targets[lo:hi], tree=tree)).sums(*flat, gradient))
            sums = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2)
            if rows is None:
                out = sums
                continue
            if out is None:
                out = np.zeros((sums.shape[0], flat[0].size, n))
            out[:, :, rows] = sums[:, :, inverse]
        if out is None:  # no observation
            out = np.zeros((4 if gradient else 1, flat[0].size, n))
        return out

    def _value_and_gradient(self, X, L0, A, alpha, B, C, beta, gamma, gradient: bool):
        obs = self._observed(X)
        s1 = self._s1(X)
        if obs.log_s1 is None:
            with np.errstate(divide="ignore"):  # S1 = 0 before the first step of a warmup from 0
                obs.log_s1 = np.log(s1)
        sums = self._drop(X, C, beta, gamma, gradient)
        drop = sums[0]
        term = np.exp(-np.asarray(alpha, dtype=float) * obs.log_s1)  # S1^−alpha
        value = L0 + A * term + B * drop
        if not gradient:
            return value, None
        Bx, bx = np.asarray(B, dtype=float), np.asarray(beta, dtype=float)
        shape = value.shape

        def full(a):  # a new array of the value's shape (never a view of a cached one)
            return np.array(np.broadcast_to(a, shape))

        return value, (np.ones(shape), full(term), full(-A * term * obs.log_s1), full(drop), full(Bx * bx * sums[2]),
                       full(Bx * sums[1]), full(-Bx * bx * np.asarray(C, dtype=float) * sums[3]))

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
