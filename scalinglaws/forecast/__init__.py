"""Forecasts from fitted laws: compute-optimal allocation (more in later releases)."""

from .allocation import compute_optimal

__all__ = ["compute_optimal"]
