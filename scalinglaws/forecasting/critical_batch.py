"""The critical batch size as Zhang et al. (2024) compute it, next to McCandlish et al.'s noise scale.

Both start from the same fit of steps-to-target against batch size B,

    S(B) = a + b/B          (a = S_min, b = E_min: McCandlish et al. 2018's form),

fitted by least squares on log S over every batch size of the sweep, unweighted, which is what Zhang et al.'s
``plots/chinchilla.ipynb`` (repository hlzhang109/critical-batch-size, cell 5) does: ``curve_fit`` of
``log(a + b/x)`` to ``log(steps)``.

Two different quantities then follow, and they must not be confused:

* **McCandlish's noise scale** ``B_noise = b/a = E_min/S_min`` (B_crit in McCandlish et al.): the batch size
  at which training needs twice the minimal steps and twice the minimal examples.
* **Zhang et al.'s critical batch size** ``CBS``: the batch size at which reaching the target takes 20 % more
  steps than perfect linear scaling *from the reference batch size* B_ref (256 sequences in their code):
  S(B) = 1.2·S(B_ref)·B_ref/B, i.e. a·B + b = 1.2·(a·B_ref + b), so

      CBS = 0.2·b/a + 1.2·B_ref.

  Their notebook solves exactly this equation, written b − 5a·CBS + 5a·1.2·256 = 0 (``fsolve``), with batch
  sizes in sequences. It is *not* 0.2·B_noise: the 1.2·B_ref term (307.2 sequences) is a third to a half of
  their values (745 … 2533 sequences for 85M … 1.2B parameters).

They then fit CBS ∝ N^β by least squares of log CBS on log N with N in **millions** of parameters
(coefficient 93.1968, exponent 0.468278 on their sweeps); :func:`cbs_power_law` does the same.

Batch sizes may be in any unit (sequences, tokens) as long as ``reference_batch`` is in the same unit: the
result is in that unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..exceptions import ScalingLawsError

__all__ = ["CriticalBatch", "critical_batch_zhang", "cbs_power_law", "ZHANG_REFERENCE_BATCH", "ZHANG_OVERHEAD"]

#: Zhang et al.'s reference batch size for "perfect linear scaling", in sequences (their code's 256).
ZHANG_REFERENCE_BATCH = 256
#: The step overhead over linear scaling that defines their critical batch size (20 %).
ZHANG_OVERHEAD = 0.2


@dataclass(frozen=True)
class CriticalBatch:
    """One sweep's fit S(B) = a + b/B and the batch sizes derived from it (all in the sweep's unit).

    ``S_min`` (= a) and ``E_min`` (= b, examples in the sweep's unit) are McCandlish et al.'s; ``B_noise`` =
    E_min/S_min is McCandlish's critical batch (noise scale); ``cbs`` is Zhang et al.'s critical batch size
    (20 % over linear scaling from ``reference_batch``).
    """

    S_min: float
    E_min: float
    B_noise: float
    cbs: float
    reference_batch: float
    overhead: float
    rmse_log: float
    n: int

    def steps_at(self, batch_size) -> np.ndarray:
        """Fitted steps to the target at batch size B: S_min + E_min/B."""
        return self.S_min + self.E_min / np.asarray(batch_size, dtype=float)

    def as_row(self) -> dict:
        return {"S_min": self.S_min, "E_min": self.E_min, "B_noise (McCandlish)": self.B_noise,
                "CBS (Zhang)": self.cbs, "reference_batch": self.reference_batch, "rmse_log": self.rmse_log,
                "n": self.n}


def _fit_steps(B: np.ndarray, S: np.ndarray) -> tuple[float, float, float]:
    """a, b of S = a + b/B minimising Σ (log S − log(a + b/B))², and the RMS log residual."""
    slope, intercept = np.polyfit(1.0 / B, S, 1)  # the exact fit of noiseless data: a good start
    start = np.log([max(intercept, 1e-3 * S.min()), max(slope, 1e-3 * S.min() * B.min())])

    def residual(p):
        return np.log(np.exp(p[0]) + np.exp(p[1]) / B) - np.log(S)

    res = least_squares(residual, start, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    a, b = np.exp(res.x)
    return float(a), float(b), float(np.sqrt(np.mean(res.fun**2)))


def critical_batch_zhang(batch_size, steps, *, reference_batch: float = ZHANG_REFERENCE_BATCH,
                         overhead: float = ZHANG_OVERHEAD) -> CriticalBatch:
    """Zhang et al.'s critical batch size from one sweep of steps-to-target against batch size.

    Fits S(B) = a + b/B by unweighted least squares on log S over all batch sizes (their recipe), then
    CBS = overhead·b/a + (1 + overhead)·reference_batch: the batch size where the steps are ``1 + overhead``
    times those of perfect linear scaling from ``reference_batch`` (same unit as ``batch_size``). Also returns
    McCandlish's B_noise = b/a, a different quantity.

    >>> fit = critical_batch_zhang([64, 256, 1024, 4096], [16250, 5000, 2187.5, 1484.375])
    >>> round(fit.S_min, 6), round(fit.E_min, 3), round(fit.B_noise, 6), round(fit.cbs, 6)
    (1250.0, 960000.0, 768.0, 460.8)
    """
    B = np.asarray(batch_size, dtype=float)
    S = np.asarray(steps, dtype=float)
    if B.shape != S.shape or B.ndim != 1 or B.size < 3:
        raise ScalingLawsError("a batch sweep needs at least 3 (batch size, steps) pairs of equal length")
    if not (np.all(np.isfinite(B)) and np.all(np.isfinite(S)) and np.all(B > 0) and np.all(S > 0)):
        raise ScalingLawsError("batch sizes and steps must be positive numbers")
    if np.unique(B).size < 2:
        raise ScalingLawsError("a batch sweep needs at least two distinct batch sizes")
    if not (overhead > 0 and reference_batch > 0):
        raise ScalingLawsError("overhead and reference_batch must be positive")
    a, b, rmse = _fit_steps(B, S)
    cbs = overhead * b / a + (1.0 + overhead) * reference_batch
    return CriticalBatch(S_min=a, E_min=b, B_noise=b / a, cbs=float(cbs), reference_batch=float(reference_batch),
                         overhead=float(overhead), rmse_log=rmse, n=int(B.size))


def cbs_power_law(model_size, cbs, *, unit: float = 1e6) -> tuple[float, float]:
    """(coefficient, exponent) of CBS = coefficient·(N/unit)^exponent, least squares on log CBS against log N.

    Zhang et al. fit N in millions of parameters (``unit=1e6``), which is where their coefficient 93.2 comes
    from; the exponent does not depend on the unit.

    >>> c, e = cbs_power_law([1e8, 1e9], [100.0, 300.0])
    >>> round(e, 6), round(c * 100**e, 6)
    (0.477121, 100.0)
    """
    N = np.asarray(model_size, dtype=float) / unit
    y = np.asarray(cbs, dtype=float)
    if N.shape != y.shape or N.size < 2 or np.any(N <= 0) or np.any(y <= 0):
        raise ScalingLawsError("need at least two positive (model size, CBS) pairs of equal length")
    exponent, log_coefficient = np.polyfit(np.log(N), np.log(y), 1)
    return float(np.exp(log_coefficient)), float(exponent)
