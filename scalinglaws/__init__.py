"""scalinglaws: fit scaling laws to training runs and forecast what bigger runs will do.

>>> import scalinglaws as sl
>>> points = sl.read_points("data/chinchilla_epoch.csv")          # doctest: +SKIP
>>> result = sl.fit("chinchilla", points)                         # doctest: +SKIP
>>> print(result.summary())                                       # doctest: +SKIP
>>> sl.compute_optimal(result, [1e21, 1e23, 1e25])                # doctest: +SKIP
"""

__version__ = "0.1.0"

from .exceptions import (AtBoundWarning, ConvergenceWarning, ExtrapolationWarning, FitError,
                         IdentifiabilityWarning, InputError, InputFileNotFoundError, LawError,
                         MissingDependencyError, OutputError, ScalingLawsError, ScalingLawsWarning)
from .fitting import FitResult, Fitter, fit
from .forecast import compute_optimal
from .io import read_curves, read_points, read_table
from .laws import Chinchilla, Law, Param, available_laws, get_law, register
from .schema import parse_number

__all__ = [
    "__version__",
    # tables
    "read_points", "read_curves", "read_table", "parse_number",
    # laws
    "Law", "Param", "Chinchilla", "get_law", "available_laws", "register",
    # fitting
    "Fitter", "fit", "FitResult",
    # forecasting
    "compute_optimal",
    # errors and warnings
    "ScalingLawsError", "InputError", "InputFileNotFoundError", "OutputError", "LawError", "FitError",
    "MissingDependencyError", "ScalingLawsWarning", "AtBoundWarning", "ConvergenceWarning",
    "IdentifiabilityWarning", "ExtrapolationWarning",
]
