"""The laws of Kaplan et al. (2020), "Scaling Laws for Neural Language Models" (arXiv:2001.08361).

N counts **non-embedding** parameters (as in the paper); loss in nats/token (WebText2 in the paper).
There is no irreducible-loss term, so these laws cannot be compared with E + ... forms at large scale.

* ``kaplan``: L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D
  (joint fit: alpha_N = 0.076, alpha_D = 0.103, N_c = 6.4e13, D_c = 1.8e13).
  With D → ∞ it reduces to L(N) = (N_c/N)^alpha_N, with N → ∞ to L(D) = (D_c/D)^alpha_D.
* ``kaplan-steps``: L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S
  (alpha_N = 0.077, N_c = 6.5e13, alpha_S = 0.76, S_c = 2.1e3), S_min the minimum number of optimizer steps.
"""

from __future__ import annotations

import numpy as np

from ._logspace import lse_weights
from .base import LogLaw, Param
from .registry import register

__all__ = ["Kaplan", "KaplanSteps"]

_REFERENCE = "Kaplan et al. 2020, Scaling Laws for Neural Language Models (arXiv:2001.08361)"
_SCALE_GRID = tuple(np.exp(np.arange(20.0, 45.0, 5.0)))


@register
class Kaplan(LogLaw):
    """Kaplan's joint law ``L = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D``.

    Convention: Kaplan et al. 2020, the joint fit of their Table 2: N counts non-embedding parameters, no irreducible
    loss; the joint fit's alpha_D = 0.103 (not the 0.095 of the single-variable L(D), often quoted for it).

    >>> law = Kaplan()
    >>> round(law(N=1e9, D=1e10, Nc=6.4e13, Dc=1.8e13, alpha_N=0.076, alpha_D=0.103), 5)
    2.41965
    """

    name = "kaplan"
    inputs = ("N", "D")
    formula = "L = ((Nc/N)^(alpha_N/alpha_D) + Dc/D)^alpha_D"
    latex = r"L = \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D} + \frac{D_c}{D}\right]^{\alpha_D}"
    reference = _REFERENCE
    input_docs = {"N": "non-embedding parameters", "D": "training tokens"}
    default_params = (
        Param("Nc", bounds=(0.0, np.inf), grid=_SCALE_GRID, log=True, unit="parameters", doc="model-size scale"),
        Param("Dc", bounds=(0.0, np.inf), grid=_SCALE_GRID, log=True, unit="tokens", doc="data scale"),
        Param("alpha_N", bounds=(0.0, 2.0), grid=(0.03, 0.07, 0.15, 0.3), doc="model-size exponent"),
        Param("alpha_D", bounds=(1e-3, 2.0), grid=(0.05, 0.1, 0.2, 0.4), doc="data exponent"),
    )

    def _parts(self, X, Nc, Dc, alpha_N, alpha_D):
        gap_n = np.log(Nc) - np.log(X["N"])
        gap_d = np.log(Dc) - np.log(X["D"])
        u = alpha_N / alpha_D * gap_n
        inner, (w_u, w_v) = lse_weights(u, gap_d)
        return inner, w_u, w_v, u, gap_n

    def log_evaluate_and_gradient(self, X, Nc, Dc, alpha_N, alpha_D):
        inner, w_u, w_v, u, gap_n = self._parts(X, Nc, Dc, alpha_N, alpha_D)
        return alpha_D * inner, (alpha_N * w_u / Nc, alpha_D * w_v / Dc, w_u * gap_n, inner - w_u * u)


@register
class KaplanSteps(LogLaw):
    """Kaplan's ``L(N, S_min) = (Nc/N)^alpha_N + (Sc/S_min)^alpha_S``.

    Convention: Kaplan et al. 2020, the fit of their Table 3: S_min = S/(1 + B_crit/B), the steps at a very small
    batch; N non-embedding; the L(N, S) fit's own alpha_N = 0.077, N_c = 6.5e13.

    >>> law = KaplanSteps()
    >>> round(law(N=1e9, S_min=1e5, Nc=6.5e13, alpha_N=0.077, Sc=2.1e3, alpha_S=0.76), 5)
    2.40051
    """

    name = "kaplan-steps"
    inputs = ("N", "S_min")
    formula = "L = (Nc/N)^alpha_N + (Sc/S_min)^alpha_S"
    latex = r"L = \left(\frac{N_c}{N}\right)^{\alpha_N} + \left(\frac{S_c}{S_{\min}}\right)^{\alpha_S}"
    reference = _REFERENCE
    input_docs = {"N": "non-embedding parameters", "S_min": "minimum optimizer steps, S/(1 + B_crit/B)"}
    default_params = (
        Param("Nc", bounds=(0.0, np.inf), grid=_SCALE_GRID, log=True, unit="parameters", doc="model-size scale"),
        Param("alpha_N", bounds=(0.0, 2.0), grid=(0.03, 0.07, 0.15, 0.3), doc="model-size exponent"),
        Param("Sc", bounds=(0.0, np.inf), grid=tuple(np.exp(np.arange(0.0, 20.0, 5.0))), log=True, unit="steps",
              doc="step scale"),
        Param("alpha_S", bounds=(0.0, 5.0), grid=(0.2, 0.5, 1.0), doc="step exponent"),
    )

    def log_evaluate_and_gradient(self, X, Nc, alpha_N, Sc, alpha_S):
        gap_n = np.log(Nc) - np.log(X["N"])
        gap_s = np.log(Sc) - np.log(X["S_min"])
        value, (w_n, w_s) = lse_weights(alpha_N * gap_n, alpha_S * gap_s)
        return value, (w_n * alpha_N / Nc, w_n * gap_n, w_s * alpha_S / Sc, w_s * gap_s)
