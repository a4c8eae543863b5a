"""Learning-rate schedules and the features loss-curve laws read from them.

A :class:`Schedule` is the learning rate of every optimizer step, ``lr[t]`` for t = 0 … T−1, with the loss
logged at step t taken to be measured after the update of step t (so every feature at t includes step t).
Generators build the common schedules (:func:`constant`, :func:`cosine`, :func:`linear`, :func:`wsd`, each with
an optional linear warmup), :func:`parse_schedule` reads a one-line spec such as
``"wsd:steps=50000,peak=3e-4,cooldown=0.2,shape=sqrt,warmup=500"``, and :func:`from_log` rebuilds the per-step
learning rate of a run that logged it only every few steps (by interpolation; the schedule says so).

Features (all O(T)):

* forward area S1(t) = Σ_{i≤t} η_i (:func:`forward_area`, a cumulative sum; the warmup area counts);
* annealing area S2(t) = Σ_{i≤t} m_i with momentum m_i = λ·m_{i−1} + (η_{i−1} − η_i)
  (:func:`annealing_area`; the recursion is a first-order IIR filter, :func:`scipy.signal.lfilter`). Drops are
  counted from the end of the warmup: the rising learning rate of a warmup is not an annealing.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .exceptions import ScalingLawsError

__all__ = ["Schedule", "constant", "cosine", "linear", "wsd", "from_array", "from_log", "parse_schedule",
           "forward_area", "annealing_area", "annealing_area_derivative", "SHAPES"]

#: Cooldown shapes of :func:`wsd`: x runs from 0 to 1 over the cooldown.
SHAPES = ("linear", "cosine", "sqrt", "exp")


@dataclass(frozen=True, eq=False)
class Schedule:
    """The learning rate of every step (read-only array), the number of warmup steps, a name, and how the
    per-step values were obtained (``"spec"``, ``"array"`` or ``"interpolated"``)."""

    lr: np.ndarray
    warmup: int = 0
    name: str = ""
    source: str = "array"
    spec: str | None = field(default=None, repr=False)

    def __post_init__(self):
        lr = np.array(self.lr, dtype=float).ravel()
        if lr.size == 0:
            raise ScalingLawsError("a schedule needs at least one step")
        if not np.all(np.isfinite(lr)) or np.any(lr < 0):
            raise ScalingLawsError(f"schedule {self.name!r}: learning rates must be finite and >= 0")
        if not np.any(lr > 0):
            raise ScalingLawsError(f"schedule {self.name!r} has no positive learning rate")
        lr.flags.writeable = False
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "warmup", int(self.warmup))

    @property
    def steps(self) -> int:
        return int(self.lr.size)

    @property
    def peak(self) -> float:
        return float(self.lr.max())

    def __len__(self) -> int:
        return self.steps

    def S1(self) -> np.ndarray:
        """Forward area at every step."""
        return forward_area(self.lr)

    def S2(self, lam: float) -> np.ndarray:
        """Annealing area at every step, with momentum ``lam``."""
        return annealing_area(self.lr, lam, self.warmup)

    def extend(self, other: "Schedule") -> "Schedule":
        """This schedule followed by ``other`` (e.g. a continuation with a re-warmup)."""
        return Schedule(np.concatenate([self.lr, other.lr]), self.warmup, f"{self.name}+{other.name}", "array")

    def to_dict(self) -> dict:
        """Plain data: the spec when the schedule came from one, else the float64 values in base64."""
        out = {"name": self.name, "warmup": self.warmup, "source": self.source}
        if self.spec is not None:
            out["spec"] = self.spec
        else:
            out["lr_base64"] = base64.b64encode(self.lr.astype("<f8").tobytes()).decode("ascii")
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> "Schedule":
        if "spec" in d:
            return parse_schedule(d["spec"], name=d.get("name", ""))
        lr = np.frombuffer(base64.b64decode(d["lr_base64"]), dtype="<f8")
        return cls(lr, d.get("warmup", 0), d.get("name", ""), d.get("source", "array"))

    def __eq__(self, other) -> bool:
        return (isinstance(other, Schedule) and self.warmup == other.warmup and self.lr.shape == other.lr.shape
                and bool(np.array_equal(self.lr, other.lr)))

    def __hash__(self) -> int:
        return hash((self.steps, self.warmup, float(self.lr.sum())))


def _warmup(peak: float, warmup: int, start: float | None) -> np.ndarray:
    """Linear warmup from ``start`` (default 0) to ``peak`` over ``warmup`` steps (numpy.linspace, as the
    Multi-Power-law code builds it)."""
    if warmup <= 0:
        return np.empty(0)
    return np.linspace(0.0 if start is None else start, peak, warmup)


def _check(steps: int, peak: float, warmup: int) -> None:
    if not (isinstance(steps, (int, np.integer)) and steps > 0):
        raise ScalingLawsError(f"steps must be a positive integer, got {steps!r}")
    if not peak > 0:
        raise ScalingLawsError(f"the peak learning rate must be positive, got {peak!r}")
    if not 0 <= warmup < steps:
        raise ScalingLawsError(f"warmup must be between 0 and steps - 1, got {warmup!r}")


def constant(steps: int, peak: float, *, warmup: int = 0, warmup_start: float | None = None,
             name: str = "constant") -> Schedule:
    """Warmup, then ``peak`` until the end."""
    _check(steps, peak, warmup)
    lr = np.concatenate([_warmup(peak, warmup, warmup_start), np.full(steps - warmup, peak)])
    return Schedule(lr, warmup, name, "spec")


def cosine(steps: int, peak: float, *, final: float = 0.0, warmup: int = 0, warmup_start: float | None = None,
           name: str = "cosine") -> Schedule:
    """Warmup, then a half cosine from ``peak`` towards ``final``, reached at step T (the end):
    η_t = final + (peak − final)·(1 + cos(π·(t − W)/(T − W)))/2 for t = W … T−1 (the Multi-Power-law form)."""
    _check(steps, peak, warmup)
    t = np.arange(warmup, steps)
    decay = final + 0.5 * (peak - final) * (1 + np.cos(np.pi * (t - warmup) / (steps - warmup)))
    return Schedule(np.concatenate([_warmup(peak, warmup, warmup_start), decay]), warmup, name, "spec")


def linear(steps: int, peak: float, *, final: float = 0.0, warmup: int = 0, warmup_start: float | None = None,
           name: str = "linear") -> Schedule:
    """Warmup, then a straight line from ``peak`` down towards ``final``, reached at step T (the end)."""
    _check(steps, peak, warmup)
    decay = peak - (peak - final) * np.arange(steps - warmup) / (steps - warmup)
    return Schedule(np.concatenate([_warmup(peak, warmup, warmup_start), decay]), warmup, name, "spec")


def wsd(steps: int, peak: float, *, cooldown: float = 0.2, shape: str = "linear", final: float = 0.0,
        warmup: int = 0, warmup_start: float | None = None, name: str = "wsd") -> Schedule:
    """Warmup-stable-decay: warmup, ``peak`` until the cooldown, then a decay to ``final``.

    ``cooldown`` is a fraction of ``steps`` (< 1; the cooldown lasts floor(cooldown·steps) steps) or a number of
    steps (>= 1). With x = (t − start)/length going from 0 to 1 over the cooldown (x = 1 at step T, the end of
    training, as in the reference codes: the last step runs at a small learning rate, not exactly ``final``),
    the shapes are
    ``linear``: peak − (peak − final)·x; ``cosine``: final + (peak − final)·(1 + cos πx)/2;
    ``sqrt`` ("1 − sqrt"): peak − (peak − final)·√x; ``exp``: peak^(1−x)·final^x (geometric; needs final > 0).
    The linear and sqrt forms are those of Hägele et al.'s code (final 0), exp that of the Multi-Power-law runs.
    """
    _check(steps, peak, warmup)
    if shape not in SHAPES:
        raise ScalingLawsError(f"cooldown shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    length = int(np.floor(cooldown * steps)) if cooldown < 1 else int(cooldown)
    if not 0 <= length <= steps - warmup:
        raise ScalingLawsError(f"cooldown of {length} steps does not fit in {steps} steps after a {warmup}-step warmup")
    if shape == "exp" and not final > 0:
        raise ScalingLawsError("an exponential cooldown needs a positive final learning rate")
    start = steps - length
    t = np.arange(warmup, steps)
    x = np.clip((t - start) / max(length, 1), 0.0, 1.0)
    if shape == "linear":
        decay = peak - (peak - final) * x
    elif shape == "cosine":
        decay = final + 0.5 * (peak - final) * (1 + np.cos(np.pi * x))
    elif shape == "sqrt":
        decay = peak - (peak - final) * np.sqrt(x)
    else:
        decay = peak ** (1 - x) * final**x
    decay = np.where(t < start, peak, decay)
    return Schedule(np.concatenate([_warmup(peak, warmup, warmup_start), decay]), warmup, name, "spec")


def from_array(lr: Sequence[float], *, warmup: int | None = None, name: str = "array") -> Schedule:
    """A schedule from per-step learning rates. The warmup, when not given, is the initial rising stretch
    (up to the first step at the peak, if the learning rate rises to it monotonically)."""
    lr = np.asarray(lr, dtype=float)
    if warmup is None:
        top = int(np.argmax(lr))
        warmup = top if top > 0 and np.all(np.diff(lr[: top + 1]) >= 0) else 0
    return Schedule(lr, warmup, name, "array")


def from_log(steps, lr, *, total_steps: int | None = None, warmup: int | None = None, name: str = "") -> Schedule:
    """Rebuild a per-step schedule from learning rates logged at some steps, by linear interpolation between
    them (constant before the first and after the last log). Exact for piecewise-linear schedules logged at
    their corners; otherwise an approximation: the schedule's ``source`` is ``"interpolated"``.
    """
    steps = np.asarray(steps, dtype=float)
    lr = np.asarray(lr, dtype=float)
    ok = np.isfinite(steps) & np.isfinite(lr)
    if ok.sum() < 1:
        raise ScalingLawsError(f"run {name!r}: no logged learning rate to rebuild the schedule from")
    steps, lr = steps[ok], lr[ok]
    order = np.argsort(steps, kind="stable")
    steps, lr = steps[order], lr[order]
    if np.any(np.diff(steps) == 0):
        raise ScalingLawsError(f"run {name!r}: the learning rate is logged twice at the same step")
    total = int(total_steps or steps.max() + 1)
    per_step = np.interp(np.arange(total), steps, lr)
    schedule = from_array(per_step, warmup=warmup, name=name)
    return Schedule(schedule.lr, schedule.warmup, name, "interpolated")


_BUILDERS = {"constant": constant, "cosine": cosine, "linear": linear, "wsd": wsd}
_INTS = {"steps", "warmup"}


def parse_schedule(spec: str, *, name: str | None = None) -> Schedule:
    """A schedule from a one-line spec: ``kind:key=value,...``.

    Kinds: ``constant``, ``cosine``, ``linear``, ``wsd``; keys: ``steps``, ``peak``, ``warmup``, ``warmup_start``,
    ``final`` (cosine, linear, wsd), ``cooldown`` and ``shape`` (wsd). Numbers may use suffixes (``50k``).

    >>> s = parse_schedule("wsd:steps=10k,peak=3e-4,cooldown=0.2,warmup=500")
    >>> s.steps, s.warmup, float(s.lr[5000]), round(float(s.lr[-1]), 12)
    (10000, 500, 0.0003, 1.5e-07)
    """
    from .schema import parse_number

    text = str(spec).strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind not in _BUILDERS:
        raise ScalingLawsError(f"schedule {text!r}: unknown kind {kind!r}; use one of {', '.join(_BUILDERS)} "
                               "(e.g. 'wsd:steps=50000,peak=3e-4,cooldown=0.2')")
    kwargs = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep:
            raise ScalingLawsError(f"schedule {text!r}: {part!r} is not key=value")
        if key == "shape":
            kwargs[key] = value.strip()
            continue
        try:
            number = parse_number(value)
        except ValueError:
            raise ScalingLawsError(f"schedule {text!r}: {key}={value!r} is not a number") from None
        kwargs[key] = int(round(number)) if key in _INTS else number
    missing = {"steps", "peak"} - set(kwargs)
    if missing:
        raise ScalingLawsError(f"schedule {text!r}: give {' and '.join(sorted(missing))}")
    try:
        schedule = _BUILDERS[kind](name=name or kind, **kwargs)
    except TypeError as err:
        raise ScalingLawsError(f"schedule {text!r}: {err}") from None
    return Schedule(schedule.lr, schedule.warmup, schedule.name, "spec", spec=text)


def forward_area(lr) -> np.ndarray:
    """S1(t) = Σ_{i≤t} η_i.

    >>> forward_area([1.0, 0.9, 0.8]).tolist()
    [1.0, 1.9, 2.7]
    """
    return np.cumsum(np.asarray(lr, dtype=float))


def _drops(lr: np.ndarray, warmup: int) -> np.ndarray:
    d = np.zeros_like(lr)
    d[1:] = lr[:-1] - lr[1:]
    d[: warmup + 1] = 0.0  # the first step after the warmup has no drop; the warmup's rise is not annealing
    return d


def annealing_area(lr, lam: float, warmup: int = 0) -> np.ndarray:
    """S2(t) = Σ_{i≤t} m_i, m_i = λ·m_{i−1} + (η_{i−1} − η_i), m_0 = 0, drops counted after the warmup.

    O(T): the momentum is a first-order IIR filter of the drops (scipy.signal.lfilter), then a cumsum.

    >>> round(float(annealing_area(np.linspace(1.0, 0.1, 10), 0.9)[-1]), 5)
    3.48678
    """
    lr = np.asarray(lr, dtype=float)
    if not 0 <= lam < 1:
        raise ScalingLawsError(f"the annealing momentum must be in [0, 1), got {lam!r}")
    from scipy.signal import lfilter
    return np.cumsum(lfilter([1.0], [1.0, -lam], _drops(lr, warmup)))


def annealing_area_derivative(lr, lam: float, warmup: int = 0) -> np.ndarray:
    """dS2/dλ at every step: with m = filter(d), dm_i/dλ = m_{i−1} + λ·dm_{i−1}/dλ, another first-order filter."""
    lr = np.asarray(lr, dtype=float)
    from scipy.signal import lfilter
    m = lfilter([1.0], [1.0, -lam], _drops(lr, warmup))
    shifted = np.zeros_like(m)
    shifted[1:] = m[:-1]
    return np.cumsum(lfilter([1.0], [1.0, -lam], shifted))

