"""Fitting laws to data: the objective, the multi-start fitter and the FitResult it returns."""

from .objective import LOSSES
from .optimize import Fitter, fit
from .result import FitResult

__all__ = ["Fitter", "fit", "FitResult", "LOSSES"]
