"""Data-constrained scaling (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models"):

    L(N, D, U) = E + A / N'^alpha + B / D'^beta

with U unique tokens repeated over D training tokens. Repeated data is worth less than fresh data:

    D' = U_D + U_D·R_D*·(1 − exp(−R_D/R_D*)),   U_D = min(U, D),  R_D = max(D/U_D − 1, 0)  (repeated epochs)
    N' = U_N + U_N·R_N*·(1 − exp(−R_N/R_N*)),   U_N = min(N, N_opt(U_D)),  R_N = max(N/U_N − 1, 0)

where N_opt(U_D) = G·(U_D·G)^(beta/alpha), G = (alpha·A/(beta·B))^(1/(alpha+beta)), is the Chinchilla-optimal
model size for the U_D unique tokens the run sees: parameters beyond it are "repeated" too. N = parameters,
D = training tokens, U = unique tokens available, loss in nats/token. R_D counts *repeats* (epochs − 1). The
published fit ties alpha = beta (``data-constrained`` frees them; ``law.tie(beta="alpha")`` gives the published
form).

**Convention when D < U** (a pool larger than the run): the authors' formula takes U as the unique tokens the
run *sees* and requires U <= D (``assert U <= D`` in the README's "Parametric Fit" code of
huggingface/datablations; their fitting notebook ``utils/parametric_fit.ipynb`` raises on ut > t). We follow
it by using U_D = min(U, D) in both D' and N_opt, so a single-epoch run's loss does not depend on how many
unused tokens the pool holds (N = 3e10, D = 1e11 gives 2.18411 for every U >= D; computing N_opt from the
pool U gave 2.1708 at U = 10·D).
"""

from __future__ import annotations

import numpy as np

from .base import Law, Param
from .registry import register

__all__ = ["DataConstrained"]


@register
class DataConstrained(Law):
    """Muennighoff et al.'s data-constrained law (see the module docstring).

    Convention: huggingface/datablations (README "Parametric Fit" and ``utils/parametric_fit.ipynb``): R_D
    counts repeated epochs (epochs − 1); U_N = min(N, N_opt(U_D)) with U_D = min(U, D), the unique tokens the
    run sees (their code requires U <= D); the published fit ties alpha = beta, fits E, A, B, alpha on
    single-epoch runs and then R_D*, R_N* with those frozen. Their published R_D* = 15.39, R_N* = 5.31 are a
    local minimum of their own objective (0.015826 on their 182 C4 runs); the same objective reaches
    0.0158047 at R_D* = 95.4, R_N* = 1.71, and R_D* is barely determined (docs/guide/laws.md).

    >>> law = DataConstrained()
    >>> p = dict(E=1.86914, A=520.825, B=1487.72, alpha=0.3526596, beta=0.3526596, R_D_star=15.387756,
    ...          R_N_star=5.309743)
    >>> round(law(N=6.34e9, D=242e9, U=25e9, **p), 5)
    2.22564
    """

    name = "data-constrained"
    inputs = ("N", "D", "U")
    formula = "L = E + A/N'^alpha + B/D'^beta (N', D': effective parameters and tokens under repetition)"
    latex = r"L = E + \frac{A}{N'^{\alpha}} + \frac{B}{D'^{\beta}}"
    reference = "Muennighoff et al. 2023, Scaling Data-Constrained Language Models (arXiv:2305.16264)"
    input_docs = {"N": "model parameters", "D": "training tokens (all epochs)", "U": "unique tokens"}
    chinchilla_terms = True
    default_params = (
        Param("E", bounds=(0.0, np.inf), grid=(np.exp(-1.0), 1.0, np.exp(1.0)), log=True, unit="nats/token",
              doc="irreducible loss"),
        Param("A", bounds=(0.0, np.inf), grid=tuple(np.exp([0.0, 4.0, 8.0, 12.0])), log=True,
              doc="model-size term coefficient"),
        Param("B", bounds=(0.0, np.inf), grid=tuple(np.exp([0.0, 4.0, 8.0, 12.0])), log=True,
              doc="data term coefficient"),
        Param("alpha", bounds=(1e-3, 5.0), grid=(0.2, 0.4, 0.8), doc="model-size exponent"),
        Param("beta", bounds=(1e-3, 5.0), grid=(0.2, 0.4, 0.8), doc="data exponent"),
        Param("R_D_star", bounds=(0.0, np.inf), grid=(5.0, 15.0, 50.0, 150.0), log=True, unit="epochs",
              doc="decay constant of the value of repeated tokens"),
        Param("R_N_star", bounds=(0.0, np.inf), grid=(1.0, 2.0, 5.0, 20.0), log=True,
              doc="decay constant of the value of excess parameters"),
    )

    @staticmethod
    def _effective(count, unique, star):
        """count' = u + u·R*·(1 − exp(−R/R*)) with R = count/u − 1 ≥ 0; also d count'/d R* and R."""
        repeats = np.maximum(count / unique - 1.0, 0.0)
        x = repeats / star
        decay = np.exp(-x)
        value = unique + unique * star * (1.0 - decay)
        d_star = unique * ((1.0 - decay) - x * decay)
        return value, d_star, repeats, decay

    def effective(self, X, E, A, B, alpha, beta, R_D_star, R_N_star) -> dict[str, np.ndarray]:
        """The intermediate quantities: N', D', U_N, U_D, R_N, R_D and N_opt(U_D) (key ``N_opt_U``)."""
        N, D = X["N"], X["D"]
        u_d = np.minimum(X["U"], D)  # the unique tokens the run sees (see the module docstring)
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        n_opt = G * (u_d * G) ** (beta / alpha)
        u_n = np.minimum(N, n_opt)
        n_eff, _, r_n, _ = self._effective(N, u_n, R_N_star)
        d_eff, _, r_d, _ = self._effective(D, u_d, R_D_star)
        return {"N_eff": n_eff, "D_eff": d_eff, "U_N": u_n, "U_D": u_d, "R_N": r_n, "R_D": r_d, "N_opt_U": n_opt}

    def evaluate(self, X, E, A, B, alpha, beta, R_D_star, R_N_star):
        e = self.effective(X, E, A, B, alpha, beta, R_D_star, R_N_star)
        return E + A * e["N_eff"] ** -alpha + B * e["D_eff"] ** -beta

    def gradient(self, X, E, A, B, alpha, beta, R_D_star, R_N_star):
        N, D = X["N"], X["D"]
        U = np.minimum(X["U"], D)  # U_D: the unique tokens the run sees
        g = (np.log(alpha) + np.log(A) - np.log(beta) - np.log(B)) / (alpha + beta)  # log G
        ratio = beta / alpha
        n_opt = np.exp((1.0 + ratio) * g + ratio * np.log(U))
        active = N > n_opt  # parameters beyond N_opt(U) are discounted: N' depends on A, B, alpha, beta
        u_n = np.where(active, n_opt, N)
        n_eff, dn_star, r_n, decay_n = self._effective(N, u_n, R_N_star)
        d_eff, dd_star, _, _ = self._effective(D, U, R_D_star)
        n_term, d_term = A * n_eff**-alpha, B * d_eff**-beta
        dL_dn = -alpha * n_term / n_eff
        # d N'/d U_N on the active branch, times d U_N / d(log U_N) = U_N
        dn_dlogm = np.where(active, u_n * (1.0 + R_N_star * (1.0 - decay_n) - decay_n * N / u_n), 0.0)
        s = alpha + beta
        dg = {"A": 1.0 / (A * s), "B": -1.0 / (B * s), "alpha": 1.0 / (alpha * s) - g / s,
              "beta": -1.0 / (beta * s) - g / s}
        dratio = {"A": 0.0, "B": 0.0, "alpha": -beta / alpha**2, "beta": 1.0 / alpha}
        via_m = {k: dL_dn * dn_dlogm * ((1.0 + ratio) * dg[k] + dratio[k] * (g + np.log(U))) for k in dg}
        one = np.ones_like(n_term * d_term)
        return (one,
                n_term / A + via_m["A"],
                d_term / B + via_m["B"],
                -n_term * np.log(n_eff) + via_m["alpha"],
                -d_term * np.log(d_eff) + via_m["beta"],
                -beta * d_term / d_eff * dd_star * one,
                dL_dn * np.where(active, dn_star, 0.0) * one)

    def data_grid(self, X, y):
        return {"E": tuple(np.min(y) * np.array([0.5, 0.75, 0.9]))}
