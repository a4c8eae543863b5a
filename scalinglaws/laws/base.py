"""The two abstractions every law is built from: :class:`Param` and :class:`Law`.

A law is a stateless description: which inputs it reads (``N``, ``D``, ...), its parameters with bounds,
fixed values, ties and a start grid, a vectorized ``evaluate`` and an analytic ``gradient``. A law with
fitted values is a :class:`~scalinglaws.fitting.result.FitResult`, never a mutated law; methods such as
:meth:`Law.fix` and :meth:`Law.tie` return new laws.

Vectorization contract: ``evaluate(X, *p)`` takes a mapping of input arrays of shape ``(n,)`` and one value
per parameter, each a scalar or an array broadcastable against the inputs (the fitter passes arrays of shape
``(S, 1)`` to evaluate ``S`` parameter vectors at once) and returns the broadcast shape, e.g. ``(S, n)``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import ClassVar, Mapping, Sequence

import numpy as np

from ..exceptions import LawError
from .expression import Expression

__all__ = ["Param", "Law", "LogLaw", "Capabilities"]

_INF = math.inf


@dataclass(frozen=True)
class Param:
    """One parameter of a law.

    Parameters
    ----------
    name : str
        Identifier used in formulas, results and ties.
    bounds : (float, float)
        Inclusive lower and upper bound on the value (``±inf`` for none).
    fixed : float, optional
        Hold the parameter at this value instead of fitting it.
    tie : str, optional
        Expression in other parameters that defines this one (``"alpha"``, ``"2*alpha"``).
    grid : tuple of float
        Start values for the multi-start search, in the parameter's own units.
    log : bool
        Fit ``log(value)`` instead of the value (scale parameters; needs ``bounds[0] >= 0``).
    unit, doc : str
        Unit and one-line meaning, for reports.
    """

    name: str
    bounds: tuple[float, float] = (-_INF, _INF)
    fixed: float | None = None
    tie: str | None = None
    grid: tuple[float, ...] = ()
    log: bool = False
    unit: str = ""
    doc: str = ""

    def __post_init__(self):
        lo, hi = (float(b) for b in self.bounds)
        object.__setattr__(self, "bounds", (lo, hi))
        object.__setattr__(self, "grid", tuple(float(g) for g in self.grid))
        if not self.name.isidentifier():
            raise LawError(f"parameter name {self.name!r} is not an identifier")
        if not lo < hi:
            raise LawError(f"parameter {self.name}: lower bound {lo} must be below upper bound {hi}")
        if self.log and lo < 0:
            raise LawError(f"parameter {self.name}: a log-scale parameter needs a lower bound >= 0")
        if self.fixed is not None:
            object.__setattr__(self, "fixed", float(self.fixed))
            if not lo <= self.fixed <= hi or (self.log and self.fixed <= 0):
                raise LawError(f"parameter {self.name}: fixed value {self.fixed} is outside its bounds {lo, hi}")
        if self.fixed is not None and self.tie is not None:
            raise LawError(f"parameter {self.name}: cannot be both fixed and tied")

    @property
    def vary(self) -> bool:
        """True when the parameter is fitted (neither fixed nor tied)."""
        return self.fixed is None and self.tie is None

    @property
    def status(self) -> str:
        """``"free"``, ``"fixed"`` or ``"tied"``."""
        return "fixed" if self.fixed is not None else "tied" if self.tie is not None else "free"

    def to_dict(self) -> dict:
        """Plain-data form (for JSON); an infinite bound is written as None."""
        bounds = [None if math.isinf(b) else b for b in self.bounds]
        return {"name": self.name, "bounds": bounds, "fixed": self.fixed, "tie": self.tie,
                "grid": list(self.grid), "log": self.log, "unit": self.unit, "doc": self.doc}

    @classmethod
    def from_dict(cls, d: Mapping) -> "Param":
        """Inverse of :meth:`to_dict`."""
        lo, hi = d["bounds"]
        return cls(name=d["name"], bounds=(-_INF if lo is None else lo, _INF if hi is None else hi), fixed=d.get("fixed"), tie=d.get("tie"),
                   grid=tuple(d.get("grid", ())), log=bool(d.get("log", False)), unit=d.get("unit", ""),
                   doc=d.get("doc", ""))


@dataclass(frozen=True)
class Capabilities:
    """What a law can be asked, declared by its class (see :attr:`Law.capabilities`); never probed.

    Attributes
    ----------
    inputs : tuple of str
        The input columns the law reads (``N``, ``D``, ...; ``run_index``, ``step`` for a curve law).
    curve : bool
        A law of whole loss curves along learning-rate schedules (fitted with ``fit_curves``, forecast with
        ``predict_curve``), not of one point per run.
    allocation : {"closed", "numeric"} or None
        How a compute-optimal split of a FLOP budget into N and D is found: the law's own closed form, a 1-D
        search along C = k·N·D (any law of exactly N and D), or not at all.
    chinchilla_terms : bool
        Its parameters E, A, B, alpha, beta mean what they mean in E + A/N^alpha + B/D^beta, so a cap on unique
        tokens can be applied through the data-constrained law of Muennighoff et al.
    unique_tokens : bool
        The law itself takes the unique tokens U as an input (data-constrained).
    """

    inputs: tuple[str, ...]
    curve: bool = False
    allocation: str | None = None
    chinchilla_terms: bool = False
    unique_tokens: bool = False


class Law:
    """Base class of every scaling law.

    Subclasses set the class attributes and implement :meth:`evaluate` and :meth:`gradient`; they may
    override :meth:`log_evaluate`/:meth:`log_gradient` with numerically better forms (the fitter works
    on log loss). ``default_params`` lists the parameters in the order ``evaluate`` takes them.

    Capabilities are declared, not probed: ``curve``, ``closed_form_allocation`` and ``chinchilla_terms`` are
    class attributes, and :attr:`capabilities` gathers them with the inputs in one record.
    """

    #: Registry name, e.g. ``"chinchilla"``.
    name: ClassVar[str] = ""
    #: Input columns the law reads, e.g. ``("N", "D")``.
    inputs: ClassVar[tuple[str, ...]] = ()
    #: Plain-text formula.
    formula: ClassVar[str] = ""
    #: LaTeX formula (without dollar signs).
    latex: ClassVar[str] = ""
    #: Paper the law comes from.
    reference: ClassVar[str] = ""
    #: Meaning and unit of each input.
    input_docs: ClassVar[Mapping[str, str]] = {}
    default_params: ClassVar[tuple[Param, ...]] = ()
    #: A law of whole loss curves (inputs ``run_index`` and ``step`` along bound schedules).
    curve: ClassVar[bool] = False
    #: The law has a closed-form compute-optimal allocation, :meth:`compute_optimal`.
    closed_form_allocation: ClassVar[bool] = False
    #: E, A, B, alpha, beta have their Chinchilla meaning (a unique-token cap can be applied to them).
    chinchilla_terms: ClassVar[bool] = False
    #: Work per observation relative to a law of scalar inputs (sizes the fitter's evaluation chunks).
    cost_per_point: ClassVar[int] = 1
    #: Whether the fitter's default polish, the batched solver of :mod:`scalinglaws.fitting.batched`, suits
    #: the law; a law that opts out is polished start by start with L-BFGS-B instead.
    batched_polish: ClassVar[bool] = True

    def __init__(self, params: Sequence[Param] | None = None):
        self._params = tuple(self.default_params if params is None else params)
        self._check()

    @property
    def config(self) -> dict:
        """Constructor arguments that define this law beyond its parameters (JSON-able; empty by default).

        Configurable laws (a power law in N, D or C; a BNSL with 1 or 2 breaks; a law from an expression)
        return what :func:`~scalinglaws.laws.registry.law_from_dict` needs to rebuild them.
        """
        return {}

    @property
    def capabilities(self) -> Capabilities:
        """The declared :class:`Capabilities` of this law.

        >>> get_law = __import__("scalinglaws").get_law
        >>> get_law("chinchilla").capabilities.allocation, get_law("kaplan").capabilities.allocation
        ('closed', 'numeric')
        """
        allocates = set(self.inputs) == {"N", "D"}
        return Capabilities(inputs=tuple(self.inputs), curve=self.curve,
                            allocation=("closed" if self.closed_form_allocation else "numeric") if allocates else None,
                            chinchilla_terms=self.chinchilla_terms and {"N", "D"} <= set(self.inputs),
                            unique_tokens="U" in self.inputs)

    def compute_optimal(self, C, *values, flops_per_token: float = 6.0):
        """Closed-form compute-optimal (N, D) for budgets C (FLOPs) under C = k·N·D, for laws that declare
        ``closed_form_allocation``; parameters in law order."""
        raise NotImplementedError(f"law '{self.name}' has no closed-form allocation")

    # -- data-driven starts -------------------------------------------------------------------------
    def data_grid(self, X: Mapping[str, np.ndarray], y: np.ndarray) -> dict[str, Sequence[float]]:
        """Start grids computed from the data, replacing the static grid of those parameters.

        For example an irreducible loss must start below the smallest observed loss. Empty by default.
        """
        return {}

    def data_starts(self, X: Mapping[str, np.ndarray], y: np.ndarray) -> list[dict[str, float]]:
        """Whole start points computed from the data (e.g. a law's own stage-wise recipe), added to the grid."""
        return []

    # -- parameters ---------------------------------------------------------------------------------
    @property
    def params(self) -> tuple[Param, ...]:
        """The parameters, in the order :meth:`evaluate` takes them."""
        return self._params

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self._params)

    def param(self, name: str) -> Param:
        """The :class:`Param` called ``name``."""
        for p in self._params:
            if p.name == name:
                return p
        raise LawError(f"law '{self.name}' has no parameter {name!r}; it has {', '.join(self.param_names)}")

    def _check(self) -> None:
        names = self.param_names
        if len(set(names)) != len(names):
            raise LawError(f"law '{self.name}': duplicate parameter names in {names}")
        ties = {p.name: Expression(p.tie) for p in self._params if p.tie is not None}
        for name, expr in ties.items():
            unknown = expr.names - set(names)
            if unknown:
                raise LawError(f"tie {name} = {expr.text}: unknown parameter(s) {', '.join(sorted(unknown))}")
        self.tie_order()  # raises on cycles

    def tie_order(self) -> list[str]:
        """Names of tied parameters in an order where each tie only uses values already known."""
        ties = {p.name: Expression(p.tie).names for p in self._params if p.tie is not None}
        order: list[str] = []
        pending = dict(ties)
        while pending:
            ready = [n for n, deps in pending.items() if not (deps & set(pending))]
            if not ready:
                raise LawError(f"law '{self.name}': parameter ties form a cycle among {', '.join(pending)}")
            for n in ready:
                order.append(n)
                del pending[n]
        return order

    def with_params(self, **changes) -> "Law":
        """A copy with some parameters changed: ``law.with_params(alpha={"bounds": (0, 1)})``.

        Each value is a :class:`Param` or a dict of :class:`Param` fields to replace.
        """
        new = list(self._params)
        index = {p.name: i for i, p in enumerate(new)}
        for name, change in changes.items():
            i = index.get(name)
            if i is None:
                self.param(name)  # raises with the list of names
            try:
                new[i] = change if isinstance(change, Param) else replace(new[i], **change)
            except TypeError as err:
                raise LawError(f"parameter {name}: {err}") from None
        law = copy.copy(self)
        law._params = tuple(new)
        law._check()
        return law

    def fix(self, **values: float) -> "Law":
        """A copy with parameters held at values: ``law.fix(alpha=0.34)``."""
        return self.with_params(**{k: {"fixed": v, "tie": None} for k, v in values.items()})

    def tie(self, **expressions: str) -> "Law":
        """A copy with parameters defined by others: ``law.tie(beta="alpha")``."""
        return self.with_params(**{k: {"tie": v, "fixed": None} for k, v in expressions.items()})

    def free(self, *names: str) -> "Law":
        """A copy where the named parameters are fitted again (neither fixed nor tied)."""
        return self.with_params(**{k: {"tie": None, "fixed": None} for k in names})

    def bound(self, **bounds: tuple[float, float]) -> "Law":
        """A copy with new bounds: ``law.bound(E=(1.0, 3.0))``."""
        return self.with_params(**{k: {"bounds": tuple(v)} for k, v in bounds.items()})

    def with_grid(self, **grids: Sequence[float]) -> "Law":
        """A copy with new start grids: ``law.with_grid(alpha=[0.2, 0.4])``."""
        return self.with_params(**{k: {"grid": tuple(v)} for k, v in grids.items()})

    # -- evaluation ---------------------------------------------------------------------------------
    def evaluate(self, X: Mapping[str, np.ndarray], *p):
        """Loss predicted at inputs ``X`` for parameter values ``p`` (see the module docstring)."""
        raise NotImplementedError

    def gradient(self, X: Mapping[str, np.ndarray], *p) -> tuple:
        """Derivatives of :meth:`evaluate` with respect to each parameter, in parameter order."""
        raise NotImplementedError

    def log_evaluate(self, X: Mapping[str, np.ndarray], *p):
        """``log(evaluate(X, *p))``; override where a direct form is more accurate."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log(self.evaluate(X, *p))

    def log_gradient(self, X: Mapping[str, np.ndarray], *p) -> tuple:
        """Derivatives of :meth:`log_evaluate` with respect to each parameter."""
        value = self.evaluate(X, *p)
        with np.errstate(invalid="ignore", divide="ignore"):
            return tuple(g / value for g in self.gradient(X, *p))

    def log_evaluate_and_gradient(self, X: Mapping[str, np.ndarray], *p) -> tuple:
        """``(log_evaluate(X, *p), log_gradient(X, *p))`` in one call; override to share work."""
        return self.log_evaluate(X, *p), self.log_gradient(X, *p)

    def values_of(self, mapping: Mapping[str, float]) -> tuple[float, ...]:
        """Parameter values in law order from a name → value mapping (fixed parameters may be omitted)."""
        out = {}
        for p in self._params:
            if p.name in mapping:
                out[p.name] = mapping[p.name]
            elif p.fixed is not None:
                out[p.name] = p.fixed
        for name in self.tie_order():
            if name not in mapping:
                out[name] = Expression(self.param(name).tie)(**out)
        missing = [p.name for p in self._params if p.name not in out]
        if missing:
            raise LawError(f"law '{self.name}' needs values for {', '.join(missing)}")
        return tuple(out[p.name] for p in self._params)

    def inputs_of(self, X: Mapping) -> dict[str, np.ndarray]:
        """The law's inputs as float arrays, raising :class:`LawError` naming a missing column."""
        missing = [k for k in self.inputs if k not in X]
        if missing:
            docs = "; ".join(f"{k}: {self.input_docs.get(k, 'input')}" for k in missing)
            raise LawError(f"law '{self.name}' needs column(s) {', '.join(missing)} ({docs}); "
                           f"the data has {', '.join(map(str, X.keys())) or 'no columns'}")
        return {k: np.asarray(X[k], dtype=float) for k in self.inputs}

    def __call__(self, params: Mapping[str, float] | None = None, /, **kwargs):
        """Evaluate at inputs and parameters given by name: ``law(N=7e10, D=1.4e12, E=1.69, ...)``.

        Inputs and parameters may be mixed in ``kwargs``; ``params`` may hold the parameters instead.
        """
        values = dict(params or {})
        values.update({k: v for k, v in kwargs.items() if k not in self.inputs})
        X = self.inputs_of({k: v for k, v in kwargs.items() if k in self.inputs})
        shape = np.broadcast_shapes(*(np.shape(v) for v in X.values()))
        out = np.asarray(self.evaluate(X, *self.values_of(values)), dtype=float).reshape(shape)
        return float(out) if out.ndim == 0 else out

    # -- description --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain-data form: name, class, configuration and every parameter's settings."""
        cls = type(self)
        return {"name": self.name, "class": f"{cls.__module__}.{cls.__qualname__}", "config": self.config,
                "params": [p.to_dict() for p in self._params]}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash((type(self), self.param_names))

    def __repr__(self) -> str:
        changed = [p for p, q in zip(self._params, self.default_params) if p != q]
        extra = "".join(f", {p.name}={p.status}" for p in changed)
        return f"<{type(self).__name__} '{self.name}': {self.formula}{extra}>"

    def describe(self) -> str:
        """Multi-line description: formula, inputs, parameters with bounds and status, reference."""
        lines = [f"{self.name}: {self.formula}"]
        for k in self.inputs:
            lines.append(f"  input {k}: {self.input_docs.get(k, '')}")
        for p in self._params:
            state = (f" fixed at {p.fixed:g}" if p.fixed is not None
                     else f" tied: {p.name} = {p.tie}" if p.tie is not None else "")
            unit = f" ({p.unit})" if p.unit else ""
            lines.append(f"  {p.name}: {p.doc}{unit} [{p.bounds[0]:g}, {p.bounds[1]:g}]{state}")
        if self.reference:
            lines.append(f"  reference: {self.reference}")
        return "\n".join(lines)



class LogLaw(Law):
    """A law written through its logarithm: subclasses implement only :meth:`log_evaluate_and_gradient`
    (log L and its derivatives), natural for sums of positive terms computed with log-sum-exp; the loss
    and its gradient follow as L = exp(log L) and dL/dp = L·d log L/dp."""

    def log_evaluate_and_gradient(self, X, *p) -> tuple:
        raise NotImplementedError

    def log_evaluate(self, X, *p):
        with np.errstate(invalid="ignore"):  # the unused gradient may be NaN at infinite inputs (limits)
            return self.log_evaluate_and_gradient(X, *p)[0]

    def log_gradient(self, X, *p) -> tuple:
        return self.log_evaluate_and_gradient(X, *p)[1]

    def evaluate(self, X, *p):
        return np.exp(self.log_evaluate(X, *p))

    def gradient(self, X, *p) -> tuple:
        value, grads = self.log_evaluate_and_gradient(X, *p)
        L = np.exp(value)
        return tuple(L * g for g in grads)
