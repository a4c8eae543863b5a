"""Log-sum-exp helpers shared by laws that are sums of positive terms (Chinchilla, Kaplan, power laws).

For L = Σ_k exp(t_k) the log is LSE(t) and d log L / d t_k = softmax(t)_k = w_k, so a law written as a
sum of log-terms gets its log value and log gradient from the same arrays, without overflow.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lse_weights"]


def lse_weights(*terms):
    """log Σ exp(t_k) and the weights w_k = exp(t_k − LSE), with the terms broadcast against each other."""
    terms = np.broadcast_arrays(*terms)
    top = terms[0]
    for t in terms[1:]:
        top = np.maximum(top, t)
    top = np.where(np.isfinite(top), top, 0.0)
    scaled = [np.exp(t - top) for t in terms]
    total = sum(scaled)
    with np.errstate(divide="ignore", invalid="ignore"):
        return top + np.log(total), [s / total for s in scaled]
