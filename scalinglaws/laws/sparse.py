"""Sparse (pruned) training: the average-parameter law of Jin et al. 2025 ("The Journey Matters",
arXiv:2501.12486) and the average parameter count of pruning schedules.

    L = E + A / N_avg^alpha + B / D^beta,   N_avg = (1/D)·∫_0^D N(t) dt

N_avg is the parameter count averaged over training **tokens** (or compute, not steps, if the batch size
changes), D = training tokens, loss in nats/token. N means the prunable parameters unless the unprunable
ones are added consistently.

For a run that keeps density 1 until a fraction u_s of training, prunes to density 1 − S by u_e, then
stays there:  N_avg/N0 = u_s + (u_e − u_s)·m(S) + (1 − u_e)·(1 − S), with the mean density over the window

=========================  ================================  ===============
schedule                   density d(x), x ∈ [0, 1]          m(S)
=========================  ================================  ===============
``geometric`` (default)    (1 − S)^x                          S / (−ln(1 − S))
``cubic`` (Zhu & Gupta)    1 − S·(1 − (1 − x)³)               1 − 3S/4
``linear``                 1 − S·x                            1 − S/2
=========================  ================================  ===============

**Which schedule is the authors'.** Jin et al.'s released code (repository tjingrant/sparse-llm-code,
``MaxText/train.py``: ``calculate_per_step_sparsity`` and the ``global_gradual`` branch of the training loop;
defaults in ``MaxText/configs/base.yml``) implements only a *discrete geometric* schedule: every
``gmp_pruning_frequency`` steps from ``gmp_start_step`` to ``gmp_end_step`` it keeps the fraction
(1 − S)^(1/n) of the remaining weights (n events), which :func:`average_density_discrete` reproduces exactly.
Its continuous limit is ``geometric``, so that is the default of :func:`average_density`; ``cubic`` (the
Zhu & Gupta 2017 schedule common in the pruning literature, 7 % lower N_avg at S = 0.5) and ``linear`` stay
options.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ScalingLawsError
from .chinchilla import Chinchilla
from .registry import register

__all__ = ["SparseAverage", "average_density", "average_density_discrete", "average_density_from_curve"]

_SCHEDULES = ("geometric", "cubic", "linear")


def average_density(sparsity, start: float = 0.25, end: float = 0.75, schedule: str = "geometric"):
    """N_avg/N0 for final sparsity S pruned between training fractions ``start`` and ``end`` (closed form).

    The default, ``geometric``, is the continuous limit of the discrete schedule of the authors' code
    (:func:`average_density_discrete`); ``cubic`` and ``linear`` are other common schedules.

    >>> [round(float(average_density(0.5, 0.25, 0.75, s)), 6) for s in ("geometric", "cubic", "linear")]
    [0.735674, 0.6875, 0.75]
    >>> round(float(average_density(0.5)), 6)
    0.735674
    """
    S = np.asarray(sparsity, dtype=float)
    if schedule not in _SCHEDULES:
        raise ScalingLawsError(f"unknown pruning schedule {schedule!r}; use one of {', '.join(_SCHEDULES)}")
    if np.any((S < 0) | (S >= 1)):
        raise ScalingLawsError(f"sparsity must be in [0, 1), got {sparsity!r}")
    if not 0 <= start <= end <= 1:
        raise ScalingLawsError(f"need 0 <= start <= end <= 1, got start={start}, end={end}")
    if schedule == "geometric":
        with np.errstate(divide="ignore", invalid="ignore"):
            window = np.where(S > 0, S / -np.log1p(-S), 1.0)
    elif schedule == "cubic":
        window = 1.0 - 0.75 * S
    else:
        window = 1.0 - 0.5 * S
    return start + (end - start) * window + (1.0 - end) * (1.0 - S)


def average_density_discrete(sparsity: float, start_step: int, end_step: int, frequency: int,
                             total_steps: int) -> float:
    """Mean density over ``total_steps`` of the discrete geometric schedule Jin et al.'s code runs.

    Pruning happens every ``frequency`` steps from ``start_step`` to ``end_step`` inclusive
    (n = (end − start)/frequency + 1 events), each removing the fraction s = 1 − (1 − S)^(1/n) of the weights
    left, so the density after the j-th event is (1 − s)^(j+1) and reaches 1 − S at ``end_step``.

    >>> round(average_density_discrete(0.5, 300, 800, 100, 1000), 6)
    0.75829
    """
    if not (0 <= start_step <= end_step < total_steps and frequency > 0):
        raise ScalingLawsError("need 0 <= start_step <= end_step < total_steps and frequency > 0")
    events = np.arange(start_step, end_step + 1, frequency)
    keep = (1.0 - sparsity) ** (1.0 / events.size)
    edges = np.append(events, total_steps)
    density = keep ** np.arange(1, events.size + 1)
    return float((start_step + np.sum(np.diff(edges) * density)) / total_steps)


def average_density_from_curve(tokens, density) -> float:
    """N_avg/N0 from a logged density curve: the trapezoid integral of density over tokens, divided by the
    tokens covered (the curve should start at token 0 and end at the last training token).

    >>> round(average_density_from_curve([0, 50, 100], [1.0, 1.0, 0.5]), 4)
    0.875
    """
    t, d = np.asarray(tokens, dtype=float), np.asarray(density, dtype=float)
    if t.ndim != 1 or t.shape != d.shape or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ScalingLawsError("give at least two (tokens, density) samples with increasing tokens")
    return float(np.trapezoid(d, t) / (t[-1] - t[0]))


@register
class SparseAverage(Chinchilla):
    """Chinchilla with the average parameter count: ``L = E + A/N_avg^alpha + B/D^beta`` (Jin et al. 2025).

    Convention: N_avg is averaged over training tokens; :func:`average_density` defaults to the geometric
    schedule, the limit of the discrete schedule of the authors' code (tjingrant/sparse-llm-code
    ``MaxText/train.py``, ``global_gradual``), which :func:`average_density_discrete` reproduces exactly.

    >>> law = SparseAverage()
    >>> round(law(N_avg=7e10, D=1.4e12, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), 5)
    1.93665
    """

    name = "sparse-average"
    inputs = ("N_avg", "D")
    formula = "L = E + A/N_avg^alpha + B/D^beta"
    latex = r"L = E + \frac{A}{\bar N^{\alpha}} + \frac{B}{D^{\beta}}"
    reference = ("Jin et al. 2025, The Journey Matters: Average Parameter Count over Pre-training Unifies "
                 "Sparse and Dense Scaling Laws (arXiv:2501.12486)")
    input_docs = {"N_avg": "parameters averaged over training tokens", "D": "training tokens"}
    # allocation trades N_avg against D under a pruning schedule, not C = 6ND: none is declared
    closed_form_allocation = False
    chinchilla_terms = False
    _size = "N_avg"
