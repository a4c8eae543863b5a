"""scalinglaws: fit scaling laws to training runs and forecast what bigger runs will do.

Typical use::

    import scalinglaws as sl
    points = sl.read_points("data/chinchilla_epoch.csv")    # tidy table: run, N, D, C, loss, ...
    result = sl.fit("chinchilla", points)                   # an immutable FitResult
    print(result.summary())
    sl.compute_optimal(result, [1e21, 1e23, 1e25])          # N_opt, D_opt, tokens per parameter, loss, bands

Units: N = parameters, D = training tokens, C = training FLOPs, loss in nats/token.

The names below load their modules on first use, so ``import scalinglaws`` (and the command line) start fast.

>>> import scalinglaws as sl
>>> law = sl.get_law("chinchilla")
>>> f"{law(N=7e10, D=1.4e12, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28):.5f}"
'1.93665'
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

from .exceptions import (AtBoundWarning, ConvergenceWarning, DataWarning, ExtrapolationWarning, FitError,
                         IdentifiabilityWarning, InputError, InputFileNotFoundError, LawError, MissingDependencyError,
                         OutputError, ScalingLawsError, ScalingLawsWarning)

#: Where each public name lives (loaded on first use).
_LAZY = {
    # tables and inputs
    "read_points": "io", "read_curves": "io", "read_table": "io", "write_table": "io", "read_input": "io",
    "ReadOptions": "io", "LogOptions": "io", "parse_number": "schema",
    # training logs
    "ingest": "io", "Ingested": "io", "points_from_curves": "io", "count_parameters": "io",
    # laws
    "Law": "laws", "Param": "laws", "Capabilities": "laws", "Chinchilla": "laws", "ExpressionLaw": "laws",
    "FunctionLaw": "laws", "get_law": "laws", "available_laws": "laws", "register": "laws",
    # fitting
    "Fitter": "fitting", "fit": "fitting", "fit_curves": "fitting", "FitResult": "fitting", "Diagnostics": "fitting",
    "bootstrap": "fitting", "BootstrapResult": "fitting", "backtest": "fitting", "compare_laws": "fitting",
    "Backtest": "fitting", "Comparison": "fitting", "profile_interval": "fitting", "to_lmfit_minimizer": "fitting",
    # results on disk
    "save": "store", "load": "store",
    # forecasting and planning
    "forecast": "forecasting", "Forecast": "forecasting", "predict_curve": "forecasting",
    "compute_optimal": "forecasting", "frontier": "forecasting", "inference_optimal": "forecasting",
    "plan": "forecasting", "Plan": "forecasting", "isoflop_analysis": "forecasting",
    "fit_batch_sweep": "forecasting", "analyze_batch_sweeps": "forecasting", "fit_hyperparameter_law": "forecasting",
    # presenting results
    "render": "present",
}

__all__ = [
    "__version__", *_LAZY,
    # errors and warnings
    "ScalingLawsError", "InputError", "InputFileNotFoundError", "OutputError", "LawError", "FitError",
    "MissingDependencyError", "ScalingLawsWarning", "AtBoundWarning", "ConvergenceWarning", "DataWarning",
    "IdentifiabilityWarning", "ExtrapolationWarning",
]


#: Subpackages and modules reachable as attributes (``sl.plot``, ``sl.fitting``), imported on first use.
_SUBMODULES = ("cli", "exceptions", "fitting", "forecasting", "io", "laws", "plot", "present", "schedules", "schema",
               "store")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scalinglaws' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
