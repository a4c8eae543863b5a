"""scalinglaws: fit scaling laws to training runs and forecast what bigger runs will do.

Typical use::

    import scalinglaws as sl
    points = sl.read_points("data/chinchilla_epoch.csv")    # tidy table: run, N, D, C, loss, ...
    result = sl.fit("chinchilla", points)                   # an immutable FitResult
    print(result.summary())
    sl.compute_optimal(result, [1e21, 1e23, 1e25])          # N_opt, D_opt, tokens per parameter, loss

Units: N = parameters, D = training tokens, C = training FLOPs, loss in nats/token.

>>> law = get_law("chinchilla")
>>> f"{law(N=7e10, D=1.4e12, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28):.5f}"
'1.93665'
"""

__version__ = "0.1.0"

from .exceptions import (AtBoundWarning, ConvergenceWarning, DataWarning, ExtrapolationWarning, FitError,
                         IdentifiabilityWarning, InputError, InputFileNotFoundError, LawError,
                         MissingDependencyError, OutputError, ScalingLawsError, ScalingLawsWarning)
from .fitting import (BootstrapResult, FitResult, Fitter, backtest, bootstrap, compare_laws, fit, fit_curves,
                      profile_interval, to_lmfit_minimizer)
from .forecasting import (compute_optimal, fit_batch_sweep, fit_hyperparameter_law, forecast, frontier,
                       inference_optimal, isoflop_analysis, predict_curve)
from .io import (Ingested, count_parameters, ingest, points_from_curves, read_curves, read_points, read_table,
                 write_table)
from .laws import Chinchilla, ExpressionLaw, FunctionLaw, Law, Param, available_laws, get_law, register
from .schema import parse_number

__all__ = [
    "__version__",
    # tables
    "read_points", "read_curves", "read_table", "write_table", "parse_number",
    # training logs
    "ingest", "Ingested", "points_from_curves", "count_parameters",
    # laws
    "Law", "Param", "Chinchilla", "ExpressionLaw", "FunctionLaw", "get_law", "available_laws", "register",
    # fitting
    "Fitter", "fit", "fit_curves", "FitResult", "bootstrap", "BootstrapResult", "backtest", "compare_laws",
    "profile_interval", "to_lmfit_minimizer",
    # forecasting
    "forecast", "predict_curve", "compute_optimal", "frontier", "inference_optimal", "isoflop_analysis",
    "fit_batch_sweep", "fit_hyperparameter_law",
    # errors and warnings
    "ScalingLawsError", "InputError", "InputFileNotFoundError", "OutputError", "LawError", "FitError",
    "MissingDependencyError", "ScalingLawsWarning", "AtBoundWarning", "ConvergenceWarning", "DataWarning",
    "IdentifiabilityWarning", "ExtrapolationWarning",
]
