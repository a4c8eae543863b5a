"""Power law plus constant in one variable (Henighan et al. 2020):

    L(x) = L_inf + (x0 / x)^alpha,   x in {N (parameters), D (tokens), C (FLOPs)}

L_inf is the irreducible loss (the entropy of the data), (x0/x)^alpha the reducible part; loss in nats/token.
Registered as ``power-N``, ``power-D`` and ``power-C``. Fitted in log space,
log L = LSE(log L_inf, alpha·(log x0 − log x)); L_inf starts below the smallest observed loss.
"""

from __future__ import annotations

import numpy as np

from ._logspace import lse_weights
from .base import LogLaw, Param
from .registry import register

__all__ = ["PowerLaw"]

_UNITS = {"N": "parameters", "D": "tokens", "C": "FLOPs"}


class PowerLaw(LogLaw):
    """``L = L_inf + (x0/x)^alpha`` in one input ``x`` (N, D or C).

    Convention: Henighan et al. 2020's power law plus constant, one variable at a time; L_inf (the entropy
    of the data) stays below the smallest observed loss. Fitted with the common Huber objective on log loss.

    >>> law = PowerLaw("D")
    >>> [round(law(D=x, L_inf=2.0, x0=1e5, alpha=0.3), 5) for x in (1e4, 1e6, 1e8)]
    [3.99526, 2.50119, 2.12589]
    """

    reference = "Henighan et al. 2020, Scaling Laws for Autoregressive Generative Modeling (arXiv:2010.14701)"
    _ALPHA_GRID = (0.05, 0.1, 0.2, 0.35, 0.5, 0.8)

    def __init__(self, x: str = "N", params=None):
        if x not in _UNITS:
            raise ValueError(f"x must be one of {', '.join(_UNITS)}, got {x!r}")
        self.x = x
        self.name = f"power-{x}"
        self.inputs = (x,)
        self.formula = f"L = L_inf + (x0/{x})^alpha"
        self.latex = rf"L = L_\infty + (x_0/{x})^{{\alpha}}"
        self.input_docs = {x: _UNITS[x]}
        self.default_params = (
            Param("L_inf", bounds=(0.0, np.inf), grid=(1.0, 2.0, 3.0), log=True, unit="nats/token",
                  doc="irreducible loss"),
            Param("x0", bounds=(0.0, np.inf), grid=tuple(np.geomspace(1e3, 1e21, 7)), log=True, unit=_UNITS[x],
                  doc=f"scale of {x} where the reducible loss is 1 nat"),
            Param("alpha", bounds=(0.0, 5.0), grid=self._ALPHA_GRID, doc="exponent"),
        )
        super().__init__(params)

    @property
    def config(self) -> dict:
        return {"x": self.x}

    def log_evaluate_and_gradient(self, X, L_inf, x0, alpha):
        gap = np.log(x0) - np.log(X[self.x])
        with np.errstate(divide="ignore"):
            value, (w0, w1) = lse_weights(np.log(L_inf) + 0.0 * gap, alpha * gap)
        return value, (w0 / L_inf, w1 * alpha / x0, w1 * gap)

    def data_grid(self, X, y):
        x = X[self.x]
        return {"L_inf": tuple(np.min(y) * np.array([0.5, 0.7, 0.85, 0.95, 0.99])),
                "x0": tuple(np.geomspace(np.min(x) * 1e-6, np.max(x) * 1e6, 13))}


for _x in _UNITS:
    register(PowerLaw, x=_x)
