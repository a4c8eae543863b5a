"""Forecasts and plans from fitted laws: loss at scale, compute-optimal allocation (plain, inference-aware,
data-constrained), plans with batch size and learning rate, IsoFLOP analysis, batch-size sweeps, loss curves.

Every function takes a :class:`~scalinglaws.FitResult` or a :class:`~scalinglaws.BootstrapResult` (bands then
come from the replicates)."""

from .allocation import PUBLISHED_REPETITION, compute_optimal, frontier, inference_optimal
from .batch import (DEEPSEEK, PRESETS, STEP_LAW, STEP_LAW_MEAN, BatchFit, BatchSweeps, HyperparameterLaw,
                    analyze_batch_sweeps, critical_batch_kaplan, fit_batch_sweep, fit_hyperparameter_law,
                    min_compute_ratio, min_steps)
from .curves import best_cooldown, continue_run, predict_curve
from ..fitting.extrapolation import WARN_BEYOND, beyond_data
from .isoflop import IsoflopResult, isoflop_analysis
from .loss import Forecast, forecast
from .planning import Plan, plan
from .powerfit import PowerFit, fit_power_law

__all__ = [
    "predict_curve", "continue_run", "best_cooldown",
    "forecast", "Forecast", "beyond_data", "WARN_BEYOND", "compute_optimal", "frontier", "inference_optimal",
    "PUBLISHED_REPETITION", "plan", "Plan", "isoflop_analysis", "IsoflopResult", "fit_power_law", "PowerFit",
    "fit_batch_sweep", "BatchFit", "analyze_batch_sweeps", "BatchSweeps", "critical_batch_kaplan", "min_steps",
    "min_compute_ratio", "HyperparameterLaw", "fit_hyperparameter_law", "STEP_LAW", "STEP_LAW_MEAN", "DEEPSEEK",
    "PRESETS",
]
