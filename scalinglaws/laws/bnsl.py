"""Broken neural scaling laws (Caballero et al. 2022, "Broken Neural Scaling Laws", arXiv:2210.14891):

    y = a + b·x^(−c0) · Π_{i=1..n} (1 + (x/d_i)^(1/f_i))^(−c_i·f_i)

a is the limit, b·x^(−c0) the first power-law segment, and each break i at x = d_i changes the log-log slope
by −c_i with sharpness f_i (smaller is sharper): the slope goes from −c0 to −(c0 + c1 + ...). Here y is the
loss (nats/token) and x one of N (parameters), D (tokens) or C (FLOPs); ``bnsl`` has 1 break, ``bnsl-2`` 2.
Evaluated in log space, (x/d)^(1/f) as softplus((log x − log d)/f), so sharp breaks do not overflow.
The fit is very non-convex: starts are generated from the data (breaks at quantiles of log x).

**Bounds.** The authors fit without bounds (``scipy.optimize.brute`` then ``curve_fit``). A sharp break
(small f) can change the slope a lot: on their own 4-digit-addition example (repository
ethancaballero/broken_neural_scaling_laws, ``fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py``)
their fit has c1 = 5.66 with f1 = 0.059. The slope changes c_i are therefore bounded by ±50 (a bound of ±5
bound there and tripled the extrapolation error, RMSLE 0.039 against their 0.011), and the starts include a
large slope change (3) and a sharp break (f = 0.1).
"""

from __future__ import annotations

import itertools

import numpy as np

from .base import Law, Param
from .registry import register

__all__ = ["BNSL"]

_UNITS = {"N": "parameters", "D": "tokens", "C": "FLOPs"}


def _softplus(z):
    return np.logaddexp(0.0, z)


class BNSL(Law):
    """A smoothly broken power law with 1 or 2 breaks in one input (see the module docstring).

    Convention: the form of Caballero et al.'s ``bnsl_with_1_break`` (ethancaballero/broken_neural_scaling_laws),
    extended to 2 breaks; fitted with the common Huber objective on log y (theirs: a brute-force grid, then
    ``curve_fit`` on log(y + 1)); slope changes bounded by ±50. On their 4-digit-addition example the default
    fit extrapolates with RMSLE 0.0113 against their 0.0109.

    >>> law = BNSL(breaks=1, x="C")
    >>> [round(law(C=x, a=0.1, b=2.0, c0=0.2, c1=0.5, d1=100.0, f1=0.5), 6) for x in (1, 100, 1e4)]
    [2.09995, 0.769534, 0.131697]
    """

    reference = "Caballero et al. 2022, Broken Neural Scaling Laws (arXiv:2210.14891)"

    def __init__(self, breaks: int = 1, x: str = "C", params=None):
        if breaks not in (1, 2):
            raise ValueError(f"breaks must be 1 or 2, got {breaks!r}")
        if x not in _UNITS:
            raise ValueError(f"x must be one of {', '.join(_UNITS)}, got {x!r}")
        self.breaks, self.x = breaks, x
        self.name = "bnsl" + ("" if breaks == 1 else f"-{breaks}") + ("" if x == "C" else f"-{x}")
        self.inputs = (x,)
        factors = "".join(f"*(1 + ({x}/d{i})^(1/f{i}))^(-c{i}*f{i})" for i in range(1, breaks + 1))
        self.formula = f"L = a + b*{x}^(-c0){factors}"
        self.latex = (rf"L = a + b\,{x}^{{-c_0}}" +
                      "".join(rf"\left(1 + ({x}/d_{i})^{{1/f_{i}}}\right)^{{-c_{i} f_{i}}}" for i in range(1, breaks + 1)))
        self.input_docs = {x: _UNITS[x]}
        params_ = [Param("a", bounds=(0.0, np.inf), grid=(1.0,), log=True, unit="nats/token", doc="limit loss"),
                   Param("b", bounds=(0.0, np.inf), grid=(1.0,), log=True, doc="scale of the first segment"),
                   Param("c0", bounds=(-2.0, 5.0), grid=(0.1,), doc="slope of the first segment")]
        for i in range(1, breaks + 1):
            params_ += [Param(f"c{i}", bounds=(-50.0, 50.0), grid=(0.1,), doc=f"slope change at break {i}"),
                        Param(f"d{i}", bounds=(0.0, np.inf), grid=(1.0,), log=True, unit=_UNITS[x],
                              doc=f"location of break {i}"),
                        Param(f"f{i}", bounds=(1e-3, 1e3), grid=(1.0,), log=True, doc=f"smoothness of break {i}")]
        self.default_params = tuple(params_)
        super().__init__(params)

    @property
    def config(self) -> dict:
        return {"breaks": self.breaks, "x": self.x}

    def _parts(self, X, a, b, c0, *rest):
        lx = np.log(X[self.x])
        log_term = np.log(b) - c0 * lx
        breaks = []
        for i in range(self.breaks):
            c, d, f = rest[3 * i : 3 * i + 3]
            z = (lx - np.log(d)) / f
            sp = _softplus(z)
            log_term = log_term - c * f * sp
            breaks.append((c, d, f, z, sp))
        return lx, np.exp(log_term), breaks

    def evaluate(self, X, *p):
        _, term, _ = self._parts(X, *p)
        return p[0] + term

    def gradient(self, X, a, b, c0, *rest):
        lx, term, breaks = self._parts(X, a, b, c0, *rest)
        out = [np.ones_like(term), term / b, -term * lx]
        for c, d, f, z, sp in breaks:
            sig = 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, stable for any z
            out += [-term * f * sp, term * c * sig / d, -term * c * (sp - z * sig)]
        return tuple(out)

    def data_starts(self, X, y):
        """Starts with breaks at quantiles of log x, slopes of a few signs and sizes, and b set so the curve
        passes through the data's first loss at the smallest x."""
        lx = np.log(X[self.x])
        x0, y0, y_min = lx.min(), y[np.argmin(lx)], np.min(y)
        quantiles = np.quantile(lx, [0.25, 0.5, 0.75])
        starts = []
        break_options = list(itertools.product((-0.3, 0.1, 0.5, 3.0), quantiles, (0.1, 0.3, 1.0)))
        for a_frac, c0 in itertools.product((0.3, 0.7, 0.95), (0.0, 0.1, 0.3)):
            a = a_frac * y_min
            for combo in itertools.product(break_options, repeat=self.breaks):
                if self.breaks == 2 and combo[0][1] >= combo[1][1]:
                    continue  # keep the breaks ordered
                start = {"a": a, "c0": c0, "b": (y0 - a) * np.exp(c0 * x0)}
                for i, (c, q, f) in enumerate(combo, start=1):
                    start.update({f"c{i}": c, f"d{i}": float(np.exp(q)), f"f{i}": f})
                starts.append(start)
        return starts


register(BNSL, breaks=1, x="C")
register(BNSL, breaks=2, x="C")
