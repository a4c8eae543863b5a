"""The Chinchilla law of Hoffmann et al. (2022): loss as a function of parameters and tokens.

    L(N, D) = E + A / N^alpha + B / D^beta

N = model parameters (all parameters, embeddings included, as in Hoffmann et al.), D = training tokens,
L = loss in nats/token. E is the irreducible loss; A/N^alpha the excess from a finite model, B/D^beta from
finite data. Fitted, like Hoffmann et al. and Epoch AI, in the log-sum-exp form

    log L = LSE(log A - alpha·log N, log B - beta·log D, log E)

so E, A and B are fitted on a log scale. The default start grid is Epoch AI's (Besiroglu et al. 2024):
alpha, beta in {0, 0.5, ..., 2}, log E in {-1, -0.5, ..., 1}, log A, log B in {0, 5, ..., 25}: 4,500 starts.
"""

from __future__ import annotations

import numpy as np

from .base import Law, Param
from .registry import register

__all__ = ["Chinchilla"]

_EXP_GRID = tuple(np.arange(0.0, 2.5, 0.5))
_SCALE_GRID = tuple(np.exp(np.arange(0.0, 30.0, 5.0)))


@register
class Chinchilla(Law):
    """Chinchilla ``L = E + A/N^alpha + B/D^beta`` (Hoffmann et al. 2022).

    Convention: Hoffmann et al.'s fit as Epoch AI replicated it (epoch-research/analyzing-chinchilla,
    ``data_analysis.ipynb``): N counts all parameters, the objective is the *sum* of Huber losses (delta = 1e-3)
    of log residuals of the log-sum-exp form, started from Epoch's grid of 4,500 points. On Epoch's 240 points
    this gives E = 1.8172 (A = 477.8, B = 2143.4); Epoch's own estimate, E = 1.81686 (A = 482.006,
    B = 2085.43), is a maximum-likelihood fit with a fitted Huber scale, not replicated here (within 1 % for
    E, alpha, beta and 3 % for A, B).

    >>> law = Chinchilla()
    >>> round(law(N=7e10, D=1.4e12, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), 5)
    1.93665
    """

    name = "chinchilla"
    inputs = ("N", "D")
    formula = "L = E + A/N^alpha + B/D^beta"
    latex = r"L = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}"
    reference = "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models (arXiv:2203.15556)"
    input_docs = {"N": "model parameters, embeddings included", "D": "training tokens"}
    default_params = (
        Param("E", bounds=(0.0, np.inf), grid=tuple(np.exp(np.arange(-1.0, 1.5, 0.5))), log=True,
              unit="nats/token", doc="irreducible loss"),
        Param("A", bounds=(0.0, np.inf), grid=_SCALE_GRID, log=True, unit="nats/token·params^alpha",
              doc="model-size term coefficient"),
        Param("B", bounds=(0.0, np.inf), grid=_SCALE_GRID, log=True, unit="nats/token·tokens^beta",
              doc="data term coefficient"),
        Param("alpha", bounds=(0.0, 5.0), grid=_EXP_GRID, doc="model-size exponent"),
        Param("beta", bounds=(0.0, 5.0), grid=_EXP_GRID, doc="data exponent"),
    )

    closed_form_allocation = True
    chinchilla_terms = True
    #: The input that plays the role of the parameter count (``N_avg`` for the sparse law).
    _size = "N"

    def evaluate(self, X, E, A, B, alpha, beta):
        return E + A * X[self._size] ** -alpha + B * X["D"] ** -beta

    def gradient(self, X, E, A, B, alpha, beta):
        n_term = X[self._size] ** -alpha
        d_term = X["D"] ** -beta
        one = np.ones_like(n_term * d_term * E)
        return (one, n_term * one, d_term * one, -A * n_term * np.log(X[self._size]) * one,
                -B * d_term * np.log(X["D"]) * one)

    def _log_terms(self, X, E, A, B, alpha, beta):
        """log L and the shares w of E, A/N^alpha and B/D^beta in L (d log L / d log of each term).

        Direct sums rather than a max-shifted log-sum-exp: each term is at most e^709 before overflowing, far
        beyond any start or fit, and an overflow only gives an infinite (rejected) objective.
        """
        lN, lD = np.log(X[self._size]), np.log(X["D"])
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            n_term = np.exp(np.log(A) - alpha * lN)
            d_term = np.exp(np.log(B) - beta * lD)
            total = E + n_term + d_term
            return np.log(total), (E / total, n_term / total, d_term / total), lN, lD

    def log_evaluate(self, X, E, A, B, alpha, beta):
        # the terms' shares are not needed here (the screening of thousands of starts calls this)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return np.log(E + np.exp(np.log(A) - alpha * np.log(X[self._size]))
                          + np.exp(np.log(B) - beta * np.log(X["D"])))

    def log_gradient(self, X, E, A, B, alpha, beta):
        return self.log_evaluate_and_gradient(X, E, A, B, alpha, beta)[1]

    def log_evaluate_and_gradient(self, X, E, A, B, alpha, beta):
        value, (w_e, w_n, w_d), lN, lD = self._log_terms(X, E, A, B, alpha, beta)
        return value, (w_e / E, w_n / A, w_d / B, -w_n * lN, -w_d * lD)

    def compute_optimal(self, C, E, A, B, alpha, beta, flops_per_token: float = 6.0):
        """Closed-form compute-optimal (N, D) for budget C (FLOPs) under C = k·N·D, k = ``flops_per_token``.

        G = (alpha·A / (beta·B))^(1/(alpha+beta)), N_opt = G·(C/k)^(beta/(alpha+beta)),
        D_opt = (C/k)/N_opt (Hoffmann et al. 2022, Appendix D.2).
        """
        C = np.asarray(C, dtype=float)
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        n_opt = G * (C / flops_per_token) ** (beta / (alpha + beta))
        return n_opt, C / flops_per_token / n_opt


@register
class ChinchillaTied(Chinchilla):
    """Chinchilla with one exponent for both terms (``beta = alpha``), as Muennighoff et al. fit it.

    Compute-optimal N then scales as C^0.5 exactly.

    Convention: Muennighoff et al.'s tied fit (huggingface/datablations ``utils/parametric_fit.ipynb``,
    ``tie=True``: alpha = beta = 0.3526596 on C4); otherwise as ``chinchilla``.
    """

    name = "chinchilla-tied"
    formula = "L = E + A/N^alpha + B/D^alpha"
    latex = r"L = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\alpha}}"
    default_params = tuple(p if p.name != "beta" else Param("beta", bounds=p.bounds, tie="alpha", doc=p.doc)
                           for p in Chinchilla.default_params)
