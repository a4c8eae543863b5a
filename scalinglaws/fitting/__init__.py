"""Fitting laws to data: the objective, the multi-start fitter, the FitResult it returns with its diagnostics,
bands, the bootstrap, backtests and curve fits."""

from .adamw import AdamW
from .resample import BootstrapResult, bootstrap
from .compare import Backtest, Comparison, backtest, compare_laws
from .curves import RECIPES, fit_curves
from .diagnostics import Diagnostics
from .objective import LOSSES
from .optimize import Fitter, fit
from .result import FitResult
from .uncertainty import profile_interval, to_lmfit_minimizer

__all__ = ["Fitter", "AdamW", "fit", "FitResult", "Diagnostics", "LOSSES", "bootstrap", "BootstrapResult",
           "backtest", "compare_laws", "Backtest", "Comparison", "fit_curves", "RECIPES", "profile_interval",
           "to_lmfit_minimizer"]
