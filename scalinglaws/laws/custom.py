"""Laws users write themselves: from a Python function (parameters read from its signature, as lmfit's
``Model`` does) or from an arithmetic expression. Both get bounds, log scales, start grids and ties like
any built-in law; the gradient is by central finite differences unless the function law is given one.

>>> law = ExpressionLaw("E + A/N**alpha + B/D**beta", params={"E": {"log": True, "bounds": (0, None)}})
>>> law.inputs, law.param_names
(('N', 'D'), ('E', 'A', 'alpha', 'B', 'beta'))
>>> round(law(N=7e10, D=1.4e12, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), 5)
1.93665
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Callable, Mapping, Sequence

import numpy as np

from ..exceptions import LawError
from .base import Law, Param
from .expression import Expression

__all__ = ["FunctionLaw", "ExpressionLaw", "KNOWN_INPUTS"]

#: Names taken as inputs (data columns) rather than parameters when ``inputs`` is not given.
KNOWN_INPUTS = ("N", "D", "C", "U", "N_avg", "S_min", "x")
#: Start grid of a parameter the user says nothing about.
DEFAULT_GRID = (0.1, 1.0, 10.0)


def _make_params(names: Sequence[str], given, defaults: Mapping[str, float] | None = None) -> tuple[Param, ...]:
    """Params for ``names`` from ``given`` (a list of Param, or name → Param or dict of Param fields)."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        given = {p.name: p for p in given}
    unknown = set(given) - set(names)
    if unknown:
        raise LawError(f"settings given for unknown parameter(s) {', '.join(sorted(unknown))}; the law has "
                       f"{', '.join(names)}")
    out = []
    for name in names:
        spec = given.get(name, {})
        if isinstance(spec, Param):
            out.append(spec)
            continue
        spec = dict(spec)
        lo, hi = spec.pop("bounds", (None, None))
        spec["bounds"] = (-np.inf if lo is None else lo, np.inf if hi is None else hi)
        if "grid" not in spec:
            start = (defaults or {}).get(name)
            spec["grid"] = (start,) if start is not None else DEFAULT_GRID
        try:
            out.append(Param(name, **spec))
        except TypeError as err:
            raise LawError(f"parameter {name}: {err}") from None
    return tuple(out)


def _finite_difference(evaluate: Callable, X, p: Sequence) -> tuple:
    """Central differences of ``evaluate(X, *p)`` in each parameter, vectorized like the law itself."""
    grads = []
    for j, value in enumerate(p):
        value = np.asarray(value, dtype=float)
        h = 1e-6 * np.maximum(1.0, np.abs(value))
        up = list(p)
        down = list(p)
        up[j], down[j] = value + h, value - h
        grads.append((evaluate(X, *up) - evaluate(X, *down)) / (2.0 * h))
    return tuple(grads)


def _resolve_function(ref: str) -> Callable:
    """A function named ``module:qualname`` from a module already loaded (never imported on request)."""
    module, _, qualname = ref.partition(":")
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not callable(found):
        raise LawError(f"function {ref!r} is not loaded; define or import it, or pass law=... explicitly")
    return found


class FunctionLaw(Law):
    """A law from a Python function ``f(N, D, a, b, ...)``: inputs first, then parameters.

    Inputs are the arguments listed in ``inputs`` (by default those named like a data column:
    N, D, C, U, N_avg, S_min, x); every other argument is a parameter, with its default value (if any) as its
    start. ``params`` sets bounds, ``log``, ``grid``, ``fixed``, ``tie`` per parameter. ``gradient``, if given,
    has the same signature and returns the derivatives in parameter order; else central differences.

    >>> def law_fn(N, E, A, alpha=0.3):
    ...     return E + A / N**alpha
    >>> law = FunctionLaw(law_fn, params={"A": {"log": True, "bounds": (0, None)}})
    >>> law.inputs, law.param_names, law.param("alpha").grid
    (('N',), ('E', 'A', 'alpha'), (0.3,))
    """

    def __init__(self, function: Callable | str, inputs: Sequence[str] | None = None, *, name: str | None = None,
                 params=None, gradient: Callable | None = None, formula: str | None = None):
        if isinstance(function, str):
            function = _resolve_function(function)
        if not callable(function):
            raise LawError("FunctionLaw needs a callable")
        self.function, self._gradient = function, gradient
        signature = inspect.signature(function)
        arguments = [a for a in signature.parameters.values()
                     if a.kind in (a.POSITIONAL_ONLY, a.POSITIONAL_OR_KEYWORD, a.KEYWORD_ONLY)]
        names = [a.name for a in arguments]
        if inputs is None:
            inputs = [n for n in names if n in KNOWN_INPUTS]
        missing = [k for k in inputs if k not in names]
        if not inputs or missing:
            raise LawError(f"function {function.__name__} must take the law's inputs; inputs {list(inputs)}, "
                           f"arguments {names}")
        self.inputs = tuple(inputs)
        self.name = name or function.__name__
        self.formula = formula or f"L = {function.__name__}({', '.join(names)})"
        defaults = {a.name: float(a.default) for a in arguments
                    if a.default is not a.empty and isinstance(a.default, (int, float))}
        self.default_params = _make_params([n for n in names if n not in self.inputs], params, defaults)
        super().__init__()

    @property
    def config(self) -> dict:
        ref = f"{self.function.__module__}:{self.function.__qualname__}"
        return {"function": ref, "inputs": list(self.inputs), "name": self.name, "formula": self.formula}

    def evaluate(self, X, *p):
        kwargs = {k: X[k] for k in self.inputs}
        kwargs.update(zip(self.param_names, p))
        return np.asarray(self.function(**kwargs), dtype=float)

    def gradient(self, X, *p):
        if self._gradient is None:
            return _finite_difference(self.evaluate, X, p)
        kwargs = {k: X[k] for k in self.inputs}
        kwargs.update(zip(self.param_names, p))
        return tuple(np.asarray(g, dtype=float) for g in self._gradient(**kwargs))


class ExpressionLaw(Law):
    """A law from an arithmetic expression, e.g. ``"E + A/N**alpha + B/D**beta"``.

    Names in ``inputs`` (by default those named like a data column: N, D, C, U, N_avg, S_min, x) are inputs;
    the others are parameters, in order of first appearance. Functions: exp, log, log10, sqrt, ... (see
    :data:`~scalinglaws.laws.expression.FUNCTIONS`). The gradient is by central differences. Unlike a
    function law, an expression law is rebuilt from a saved fit by itself.
    """

    def __init__(self, expression: str, inputs: Sequence[str] | None = None, *, name: str | None = None,
                 params=None):
        self.expression = Expression(expression)
        order = list(dict.fromkeys(re.findall(r"[A-Za-z_]\w*", self.expression.text)))
        names = [n for n in order if n in self.expression.names]
        if inputs is None:
            inputs = [n for n in names if n in KNOWN_INPUTS]
        missing = [k for k in inputs if k not in names]
        if not inputs or missing:
            raise LawError(f"expression {self.expression.text!r} must use the law's inputs {list(inputs) or KNOWN_INPUTS}")
        self.inputs = tuple(inputs)
        self.name = name or "expression"
        self.formula = f"L = {self.expression.text}"
        self.default_params = _make_params([n for n in names if n not in self.inputs], params)
        super().__init__()

    @property
    def config(self) -> dict:
        return {"expression": self.expression.text, "inputs": list(self.inputs), "name": self.name}

    def evaluate(self, X, *p):
        values = {k: X[k] for k in self.inputs}
        values.update(zip(self.param_names, p))
        return np.asarray(self.expression(**values), dtype=float)

    def gradient(self, X, *p):
        return _finite_difference(self.evaluate, X, p)
