"""Fitting laws to data: the objective, the multi-start fitter and the FitResult it returns."""

from .adamw import AdamW
from .bootstrap import BootstrapResult, bootstrap
from .compare import backtest, compare_laws
from .curves import fit_curves
from .objective import LOSSES
from .optimize import Fitter, fit
from .result import FitResult
from .uncertainty import profile_interval, to_lmfit_minimizer

__all__ = ["Fitter", "AdamW", "fit", "FitResult", "LOSSES", "bootstrap", "BootstrapResult", "backtest", "compare_laws",
           "fit_curves", "profile_interval", "to_lmfit_minimizer"]
