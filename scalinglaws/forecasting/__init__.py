"""Forecasts and plans from fitted laws: loss at scale, compute-optimal allocation (plain, inference-aware,
data-constrained), IsoFLOP analysis, batch size and learning rate."""

from .allocation import PUBLISHED_REPETITION, compute_optimal, frontier, inference_optimal
from .curves import best_cooldown, continue_run, predict_curve
from .batch import (DEEPSEEK, PRESETS, STEP_LAW, STEP_LAW_MEAN, BatchFit, HyperparameterLaw, critical_batch_kaplan,
                    fit_batch_sweep, fit_hyperparameter_law, min_compute_ratio, min_steps)
from .isoflop import IsoflopResult, isoflop_analysis
from .loss import extrapolation_factor, forecast
from .powerfit import PowerFit, fit_power_law

__all__ = [
    "predict_curve", "continue_run", "best_cooldown",
    "forecast", "extrapolation_factor", "compute_optimal", "frontier", "inference_optimal", "PUBLISHED_REPETITION",
    "isoflop_analysis", "IsoflopResult", "fit_power_law", "PowerFit", "fit_batch_sweep", "BatchFit",
    "critical_batch_kaplan", "min_steps", "min_compute_ratio", "HyperparameterLaw", "fit_hyperparameter_law",
    "STEP_LAW", "STEP_LAW_MEAN", "DEEPSEEK", "PRESETS",
]
