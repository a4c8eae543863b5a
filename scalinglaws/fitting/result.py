"""FitResult: an immutable record of one fit, with predictions, a readable summary and JSON round trip."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import InputError, LawError
from ..laws.base import Law
from ..laws.registry import law_from_dict
from .bands import asymptotic_draws, band_table, interval_of
from .diagnostics import Diagnostics

__all__ = ["FitResult"]

_FORMAT = "scalinglaws.FitResult"
_FORMAT_VERSION = 2


def _frozen(a, dtype=float) -> np.ndarray:
    arr = np.array(a, dtype=dtype)
    arr.flags.writeable = False
    return arr


def _frozen_columns(columns: Mapping, dtype=None) -> Mapping[str, np.ndarray]:
    """Read-only arrays in a read-only mapping; each keeps its dtype unless ``dtype`` is given."""
    return MappingProxyType({str(k): _frozen(v, np.asarray(v).dtype if dtype is None else dtype)
                             for k, v in columns.items()})


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of fitting a law to data. Immutable: arrays are read-only, tables are copies.

    Attributes
    ----------
    law : Law
        The law as fitted (with its bounds, fixed and tied parameters).
    values, stderr : ndarray
        Fitted value and standard error of every parameter, in law order (stderr 0 for fixed ones).
    covariance : ndarray
        Asymptotic covariance of the parameters (robust sandwich estimate, see :mod:`.optimize`).
    objective : float
        Σ ρ(log residuals) at the optimum (a sum, in the units of Hoffmann et al. and Epoch AI).
    residuals : ndarray
        log L_obs − log L_pred for every fitted point.
    inputs, observed, runs : mapping of arrays, ndarray, ndarray
        The fitted points: the law's inputs by name, the observed loss, the run names.
    start_table : mapping of arrays
        Every start of the search (see :attr:`starts`); only the polished ones have an end point.
    loglik : float
        Log-likelihood of the residuals under the density whose maximum is this fit (Huber or Gaussian).
    settings : mapping
        The :class:`~scalinglaws.fitting.optimize.Fitter` settings used.
    n_excluded : int
        Rows of the data left out by their ``exclude`` column.
    diagnostics : Diagnostics
        How the fit went, as data (convergence, parameters on a bound, identifiability, points, outliers); the
        properties ``converged``, ``message``, ``at_bound`` and ``warnings`` read it.
    """

    law: Law
    values: np.ndarray
    stderr: np.ndarray
    covariance: np.ndarray
    objective: float
    inputs: Mapping[str, np.ndarray]
    observed: np.ndarray
    runs: np.ndarray
    residuals: np.ndarray
    start_table: Mapping[str, np.ndarray]
    loglik: float
    settings: Mapping = field(default_factory=dict)
    n_excluded: int = 0
    diagnostics: Diagnostics = field(default_factory=lambda: Diagnostics(converged=True, message=""))

    def __post_init__(self):
        put = object.__setattr__
        for name in ("values", "stderr", "observed", "residuals"):
            put(self, name, _frozen(getattr(self, name)))
        put(self, "covariance", _frozen(self.covariance))
        put(self, "runs", _frozen(self.runs, dtype=object))
        put(self, "inputs", _frozen_columns(self.inputs, float))
        put(self, "start_table", _frozen_columns(self.start_table))
        put(self, "settings", MappingProxyType(dict(self.settings)))
        put(self, "objective", float(self.objective))
        put(self, "loglik", float(self.loglik))
        put(self, "n_excluded", int(self.n_excluded))

    # -- diagnostics --------------------------------------------------------------------------------
    @property
    def converged(self) -> bool:
        """Whether the optimizer's stopping rule was met for the best start (see :attr:`message`)."""
        return self.diagnostics.converged

    @property
    def message(self) -> str:
        """How the optimizer stopped, in words."""
        return self.diagnostics.message

    @property
    def at_bound(self) -> np.ndarray:
        """For each parameter (law order): did it end on a bound? (see :class:`Diagnostics`)"""
        return np.array([n in self.diagnostics.at_bound for n in self.law.param_names], dtype=bool)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Everything the fit found suspicious, in words (derived from :attr:`diagnostics`)."""
        return tuple(m for m, _ in self.diagnostics.messages())

    # -- parameters ---------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in law order."""
        return self.law.param_names

    @property
    def params(self) -> dict[str, float]:
        """Fitted values by name: ``fit.params["alpha"]``."""
        return dict(zip(self.names, map(float, self.values)))

    @property
    def errors(self) -> dict[str, float]:
        """Standard errors by name."""
        return dict(zip(self.names, map(float, self.stderr)))

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix of the parameters (NaN for fixed ones)."""
        s = np.sqrt(np.diag(self.covariance))
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.covariance / np.outer(s, s)

    @property
    def n_points(self) -> int:
        return int(self.observed.size)

    @property
    def n_free(self) -> int:
        """Number of fitted parameters."""
        return sum(p.vary for p in self.law.params)

    # -- quality ------------------------------------------------------------------------------------
    @property
    def aic(self) -> float:
        """Akaike information criterion, 2k − 2·loglik with k = free parameters + 1 (the residual scale)."""
        return 2 * (self.n_free + 1) - 2 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion, k·ln(n) − 2·loglik."""
        return (self.n_free + 1) * math.log(self.n_points) - 2 * self.loglik

    @property
    def rmse(self) -> float:
        """Root mean square of the log residuals (≈ relative error of the loss)."""
        return float(np.sqrt(np.mean(self.residuals**2)))

    @property
    def r2(self) -> float:
        """Coefficient of determination of the loss itself (not its log)."""
        pred = self.observed * np.exp(-self.residuals)
        ss_tot = float(np.sum((self.observed - self.observed.mean()) ** 2))
        return 1.0 - float(np.sum((self.observed - pred) ** 2)) / ss_tot if ss_tot > 0 else float("nan")

    @property
    def n_agreeing_starts(self) -> int:
        """How many polished starts reached the best objective (to 1e-6 relative)."""
        return self.diagnostics.agreeing_starts

    # -- prediction ---------------------------------------------------------------------------------
    def predict(self, data=None, **inputs):
        """Predicted loss (nats/token) at the law's inputs.

        Give a DataFrame/mapping with the input columns, or the inputs as keywords; scalars give a float::

            fit.predict(N=7e10, D=1.4e12)                          # 1.9734 for the Chinchilla fit
            fit.predict(pd.DataFrame({"N": [1e9, 1e10], "D": 2e10}))
        """
        source = dict(inputs) if data is None else {k: data[k] for k in self.law.inputs if k in data}
        X = self.law.inputs_of(source)
        shape = np.broadcast_shapes(*(np.shape(v) for v in X.values()))
        X = {k: np.broadcast_to(v, shape) for k, v in X.items()}
        out = np.asarray(self.law.evaluate(X, *self.values), dtype=float).reshape(shape)
        return float(out) if out.ndim == 0 else out

    #: Seed of the asymptotic parameter draws and resampled residuals of :meth:`band` (fixed: same numbers always).
    seed = 0

    @property
    def band_source(self) -> str:
        """Where the noise part of :meth:`band` comes from: ``"asymptotic"`` (the covariance), or ``"residuals"``
        when the covariance is singular (parameter uncertainty then is not in the noise part)."""
        return "asymptotic" if self.diagnostics.covariance_ok else "residuals"

    @property
    def band_description(self) -> str:
        """:attr:`band_source` in words."""
        if self.diagnostics.covariance_ok:
            return "the fit's asymptotic covariance"
        return ("the scatter of the runs only (the fit's covariance is singular, so the noise part leaves out the "
                "parameters' uncertainty; a bootstrap adds it)")

    @cached_property
    def _draws(self) -> np.ndarray:
        draws = asymptotic_draws(self)
        if not np.all(np.isfinite(draws)):  # a singular covariance: the fit itself, the runs' scatter added later
            draws = np.tile(np.asarray(self.values, dtype=float), (len(draws), 1))
        draws.flags.writeable = False
        return draws

    def parameter_draws(self) -> tuple[np.ndarray, str]:
        """Parameter vectors (rows, law order) for bands, and where they come from: draws from the asymptotic
        covariance of the fit (``"asymptotic"``; see :mod:`scalinglaws.fitting.bands`)."""
        return self._draws, self.band_source

    @cached_property
    def model_error(self):
        """The calibrated error of the law itself (:class:`~scalinglaws.fitting.calibration.ModelError`): backtests
        inside the data, computed on first use (five refits) and saved with the fit."""
        from .calibration import calibrate

        return calibrate(self)

    def band(self, data=None, *, level: float = 0.9, kind: str = "observation", model_error: bool = True,
             **inputs) -> pd.DataFrame:
        """The predicted loss with its ``level`` band (see :mod:`scalinglaws.fitting.bands`): the noise part from
        the asymptotic covariance (and, for ``kind="observation"``, the default, the scatter of a new run's measured
        loss), plus the model error that grows with the distance beyond the data (``model_error=False``: the noise
        part alone). Columns: the inputs, ``loss``, ``lower``, ``upper``, ``noise_lower``, ``noise_upper``,
        ``model_error``, ``distance``. Same signature as :meth:`BootstrapResult.band`::

            fit.band(N=7e10, D=1.4e12)                 # one row: N, D, loss, lower, upper, ...
        """
        return band_table(self, data, inputs, level, kind, model_error)

    def interval(self, function, level: float = 0.9) -> dict[str, float]:
        """Percentile interval of a derived quantity ``function(params)`` (params: name → value) over the
        parameter draws (see :meth:`band`); e.g. the N_opt exponent ``lambda p: p["beta"] / (p["alpha"] + p["beta"])``."""
        draws, _ = self.parameter_draws()
        return interval_of(draws, self.names, function, function(self.params), level)

    @property
    def data(self) -> pd.DataFrame:
        """The fitted points (a copy): run, the law's inputs, loss, predicted loss, log residual."""
        frame = pd.DataFrame({"run": np.array(self.runs), **{k: np.array(v) for k, v in self.inputs.items()}})
        frame["loss"] = np.array(self.observed)
        frame["predicted"] = self.observed * np.exp(-self.residuals)
        frame["residual"] = np.array(self.residuals)
        return frame

    @property
    def starts(self) -> pd.DataFrame:
        """Every start (a copy): where it began, its objective there, and, if polished, where it ended."""
        return pd.DataFrame({k: np.array(v) for k, v in self.start_table.items()})

    def parameter_table(self) -> pd.DataFrame:
        """One row per parameter: value, stderr, relative error, status, at-bound flag, bounds, unit."""
        rows = []
        for p, v, s, b in zip(self.law.params, self.values, self.stderr, self.at_bound):
            rows.append({"param": p.name, "value": float(v), "stderr": float(s),
                         "rel_err": float(s / abs(v)) if v != 0 and p.vary else float("nan"),
                         "status": p.status if not b else "AT BOUND", "lower": p.bounds[0], "upper": p.bounds[1],
                         "unit": p.unit})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A readable report: parameters with uncertainties, fit quality, convergence, warnings."""
        law = self.law
        excluded = f", {self.n_excluded} excluded" if self.n_excluded else ""
        loss = self.settings.get("loss", "huber")
        how = (f"Huber loss (delta={self.settings.get('delta', 1e-3):g})" if loss == "huber"
               else "least squares")
        lines = [f"Law: {law.name}   {law.formula}", f"Data: {self.n_points} points{excluded}; {how} on log residuals"]
        table = self.parameter_table()
        width = max(len(n) for n in table["param"])
        lines.append(f"  {'param':<{width}}  {'value':>12}  {'std err':>10}  {'rel':>7}  note")
        for row in table.itertuples():
            rel = ("" if math.isnan(row.rel_err) else f"{100 * row.rel_err:6.1f}%" if row.rel_err < 100
                   else ">10000%")
            note = "" if row.status == "free" else row.status
            if row.status == "tied":
                note = f"tied: {law.param(row.param).tie}"
            lines.append(f"  {row.param:<{width}}  {row.value:>12.6g}  {row.stderr:>10.3g}  {rel:>7}  {note}".rstrip())
        d = self.diagnostics
        state = "converged" if d.converged else "NOT converged"
        if d.adamw:
            state = ("stopped by its rule (an early-stopped fit, not the minimum of the objective)" if d.converged
                     else "NOT stopped by its rule")
        lines.append(f"Fit: {state} ({d.message}); objective {self.objective:.6g}; "
                     f"{d.agreeing_starts} of {d.polished_starts} polished starts "
                     f"(from {len(self.start_table['polished'])} screened) reach it")
        abs_r = np.abs(self.residuals)
        lines.append(f"Residuals: RMS {100 * self.rmse:.3g}%, median |r| {100 * np.median(abs_r):.3g}%, "
                     f"max |r| {100 * abs_r.max():.3g}%; R^2 (loss) {self.r2:.4f}; "
                     f"AIC {self.aic:.1f}, BIC {self.bic:.1f}")
        if self.diagnostics.stderr_reliable:
            lines.append("Std errors: asymptotic (robust sandwich); a bootstrap over runs also sees correlated "
                         "errors and can be wider.")
        else:
            lines.append(f"Std errors: asymptotic (robust sandwich), NOT reliable with {self.n_points} points for "
                         f"{self.diagnostics.n_free} free parameters (in simulations they are up to 2x too small "
                         "or too large); bootstrap (--bootstrap N) or add runs.")
        if self.law.capabilities.curve:
            lines.extend(self._curve_lines())
        if self.warnings:
            lines.extend(f"Warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def _curve_lines(self) -> list[str]:
        """How each run's schedule was obtained, and the fit's quality per run (curve laws)."""
        lines = [f"  schedule of {run}: {how}" for run, how in self.settings.get("schedules", {}).items()]
        if self.settings.get("metric"):
            lines.append(f"Fitted: the {'evaluation' if self.settings['metric'] == 'eval_loss' else 'training'} "
                         f"loss of each logged step; {self.n_excluded} steps left out (warmup or no loss)")
        lines.append(f"  {'run':<32} {'points':>6} {'R^2':>8} {'MAE':>8} {'final error':>12}")
        for row in self.run_quality().itertuples():
            lines.append(f"  {str(row.run):<32} {row.points:>6} {row.r2:>8.5f} {row.mae:>8.4f} "
                         f"{row.final_error:>+12.4f}")
        return lines

    def quality(self) -> pd.DataFrame:
        """One row: how the fit went (convergence, objective, agreeing starts, residuals, AIC/BIC, diagnostics)."""
        d = self.diagnostics
        return pd.DataFrame([{"law": self.law.name, "points": self.n_points, "excluded": self.n_excluded,
                              "converged": d.converged, "message": d.message, "objective": self.objective,
                              "agreeing_starts": d.agreeing_starts, "polished_starts": d.polished_starts,
                              "identifiable": d.identifiable, "at_bound": ", ".join(d.at_bound),
                              "enough_points": d.enough_points, "rmse_log": self.rmse, "r2": self.r2,
                              "aic": self.aic, "bic": self.bic, "warnings": "; ".join(self.warnings)}])

    def run_quality(self) -> pd.DataFrame:
        """Per run: points, R² of the loss, mean absolute error (nats/token) and the error at its last point
        (predicted − observed; for a curve law, the last step)."""
        data = self.data
        order = "step" if "step" in data else None
        rows = []
        for run, group in data.groupby("run", sort=False):
            if order:
                group = group.sort_values(order, kind="stable")
            observed, predicted = group["loss"].to_numpy(), group["predicted"].to_numpy()
            ss_tot = float(np.sum((observed - observed.mean()) ** 2))
            rows.append({"run": run, "points": len(group),
                         "r2": 1 - float(np.sum((observed - predicted) ** 2)) / ss_tot if ss_tot > 0 else np.nan,
                         "mae": float(np.mean(np.abs(observed - predicted))),
                         "final_error": float(predicted[-1] - observed[-1])})
        return pd.DataFrame(rows)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result as named tables: ``parameters``, ``quality`` and, for a curve law, ``runs``
        (:meth:`run_quality`)."""
        out = {"parameters": self.parameter_table(), "quality": self.quality()}
        if self.law.capabilities.curve:
            out["runs"] = self.run_quality()
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"<FitResult {self.law.name}: {params}; n={self.n_points}, converged={self.converged}>"

    # -- serialization ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain-data form, lossless for floats (non-finite numbers become strings); the calibrated model error
        is included once it has been computed (it is a deterministic function of the fit, saved to spare its
        backtests)."""
        out = {
            "format": _FORMAT, "version": _FORMAT_VERSION, "law": self.law.to_dict(),
            "values": _enc(self.values), "stderr": _enc(self.stderr), "covariance": _enc(self.covariance),
            "objective": _enc(self.objective), "inputs": {k: _enc(v) for k, v in self.inputs.items()},
            "observed": _enc(self.observed), "runs": [str(r) for r in self.runs],
            "residuals": _enc(self.residuals),
            "start_table": {k: _enc(v) for k, v in self.start_table.items()},
            "loglik": _enc(self.loglik), "settings": _enc(dict(self.settings)), "n_excluded": self.n_excluded,
            "diagnostics": _enc(self.diagnostics.to_dict()),
        }
        if "model_error" in self.__dict__:
            out["model_error"] = _enc(self.__dict__["model_error"].to_dict())
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> "FitResult":
        """Inverse of :meth:`to_dict`; raises :class:`InputError` for anything that is not a whole, valid fit
        result (a damaged or hand-edited file: missing fields, wrong shapes, values outside the law's bounds)."""
        try:
            result = cls._from_dict(d)
        except (InputError, LawError):
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            raise InputError(f"fit result is incomplete or damaged ({type(err).__name__}: {err})",
                             hint="write it again with 'scalinglaws fit --out'") from None
        result._check()
        if "model_error" in d:
            from .calibration import ModelError

            try:
                result.__dict__["model_error"] = ModelError.from_dict(_dec(d["model_error"]), result.residuals)
            except (KeyError, TypeError, ValueError) as err:
                raise InputError(f"fit result's model error is damaged ({type(err).__name__}: {err})",
                                 hint="write it again with 'scalinglaws fit --out'") from None
        return result

    def _check(self) -> None:
        """Refuse values no fit can have produced: wrong lengths, non-finite or out-of-bounds parameters."""
        n = len(self.law.params)
        if self.values.shape != (n,) or self.stderr.shape != (n,) or self.covariance.shape != (n, n):
            raise InputError(f"fit result has {self.values.size} values for the {n} parameters of law "
                             f"'{self.law.name}'", hint="write it again with 'scalinglaws fit --out'")
        sizes = {v.size for v in self.inputs.values()} | {self.observed.size, self.residuals.size, self.runs.size}
        if len(sizes) != 1:
            raise InputError("fit result's data columns have different lengths",
                             hint="write it again with 'scalinglaws fit --out'")
        for p, v in zip(self.law.params, self.values):
            lo, hi = p.bounds
            if p.tie is not None:  # a tie may leave the bounds in a real fit (diagnostics flag it)
                lo, hi = -np.inf, np.inf
            if not np.isfinite(v) or not lo <= v <= hi or (p.log and v <= 0):
                raise InputError(f"parameter {p.name} = {v:g} is outside its bounds [{lo:g}, {hi:g}] (an edited "
                                 "file?)", hint="refit, or restore the file written by 'scalinglaws fit --out'")
        with np.errstate(invalid="ignore"):
            diagonal = np.sqrt(np.diag(self.covariance))
        if not np.all(np.isnan(self.stderr) | (self.stderr >= 0)) or not np.allclose(
                diagonal, self.stderr, rtol=1e-6, atol=0, equal_nan=True):
            raise InputError("the standard errors disagree with the covariance (an edited file?)",
                             hint="refit, or restore the file written by 'scalinglaws fit --out'")
        if not np.all(np.isfinite(self.observed) & (self.observed > 0)):
            raise InputError("the fitted losses are not all positive finite numbers (an edited file?)",
                             hint="refit, or restore the file written by 'scalinglaws fit --out'")
        self._check_reproduces()

    def _check_reproduces(self) -> None:
        """Refuse values (within their bounds, e.g. E = 1e308) whose predictions at the fit's own points are
        not finite or miss the predictions the fit stored (observed·exp(-residual)) by more than a factor e."""
        if self.law.capabilities.curve or not self.observed.size:
            return
        try:
            X = self.law.inputs_of(self.inputs)
            with np.errstate(all="ignore"):
                pred = np.asarray(self.law.evaluate(X, *self.values), dtype=float)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return  # a law that cannot re-evaluate its stored inputs: the other checks stand
        with np.errstate(all="ignore"):
            stored = self.observed * np.exp(-self.residuals)
            gap = np.abs(np.log(pred / stored))
        bad = ~np.isfinite(gap) | (gap > 1.0)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(f"the parameters predict {pred.flat[i]:.4g} at fitted point {i + 1}, where the fit "
                             f"predicted {stored[i]:.4g} (values {', '.join(f'{p.name}={v:g}' for p, v in zip(self.law.params, self.values))}: "
                             "an edited file?)",
                             hint="refit, or restore the file written by 'scalinglaws fit --out'")

    @classmethod
    def _from_dict(cls, d: Mapping) -> "FitResult":
        if not isinstance(d, Mapping) or d.get("format") != _FORMAT:
            raise InputError("not a scalinglaws fit result", hint="give a file written by 'scalinglaws fit --out'")
        version = d.get("version", 0)
        if not isinstance(version, int) or version > _FORMAT_VERSION:
            raise InputError(f"fit result format version {version} is newer than this scalinglaws "
                             f"understands ({_FORMAT_VERSION})", hint="upgrade scalinglaws")
        kinds = {"polished": bool, "success": bool, "iterations": np.int64}
        start_table = {k: _dec_array(v, kinds.get(k)) for k, v in d["start_table"].items()}
        law = law_from_dict(d["law"])
        if "diagnostics" in d:
            diagnostics = Diagnostics.from_dict(_dec(d["diagnostics"]))
        else:  # version 1: the flags only
            bound = {n: "lower" for n, b in zip(law.param_names, d["at_bound"]) if b}
            diagnostics = Diagnostics(converged=bool(d["converged"]), message=str(d["message"]), at_bound=bound,
                                      n_points=len(d["observed"]), n_free=sum(p.vary for p in law.params))
        return cls(
            law=law, values=_dec_array(d["values"]), stderr=_dec_array(d["stderr"]),
            covariance=_dec_array(d["covariance"]), objective=_dec(d["objective"]),
            inputs={k: _dec_array(v) for k, v in d["inputs"].items()}, observed=_dec_array(d["observed"]),
            runs=np.array(d["runs"], dtype=object), residuals=_dec_array(d["residuals"]),
            start_table=start_table, loglik=_dec(d["loglik"]), settings=_dec(d["settings"]),
            n_excluded=d["n_excluded"], diagnostics=diagnostics,
        )

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`, one top-level key per line (write it with :func:`scalinglaws.save`)."""
        return dump_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "FitResult":
        """A result from JSON text written by :meth:`to_json` (read files with :func:`scalinglaws.load`)."""
        return cls.from_dict(parse_json(text))

    def __reduce__(self):
        return (FitResult.from_dict, (self.to_dict(),))

    def __eq__(self, other) -> bool:
        def core(result):  # the fit itself, not what was cached from it
            return json.dumps({k: v for k, v in result.to_dict().items() if k != "model_error"})
        return isinstance(other, FitResult) and core(self) == core(other)

    __hash__ = None  # type: ignore[assignment]

    def to_lmfit(self):
        """The fitted parameters as :class:`lmfit.Parameters` (values, bounds, vary, ties, stderr, correl).

        Use it to reach lmfit's tools (``conf_interval``, ``emcee``) from any fit.
        """
        import lmfit

        out = lmfit.Parameters()
        for p, v, s in zip(self.law.params, self.values, self.stderr):
            out.add(p.name, value=float(v), vary=p.vary, min=p.bounds[0], max=p.bounds[1])
        for p, s in zip(self.law.params, self.stderr):
            if p.tie is not None:
                out[p.name].expr = p.tie
            out[p.name].stderr = float(s) if p.vary else None
        corr = self.correlation
        for i, p in enumerate(self.law.params):
            if p.vary:
                out[p.name].correl = {q.name: float(corr[i, j]) for j, q in enumerate(self.law.params)
                                      if q.vary and j != i}
        return out


def dump_json(data: Mapping) -> str:
    """A JSON object with one top-level key per line (diffs of saved results stay readable)."""
    items = (f"{json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in data.items())
    return "{\n" + ",\n".join(items) + "\n}\n"


def parse_json(text: str) -> dict:
    """A JSON object from text, with :class:`InputError` (naming the line) for anything else."""
    if not text.strip():
        raise InputError("is empty", hint="give a file written by scalinglaws (fit --out fit.json)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", line=err.lineno, hint="the file may be truncated") from None
    except RecursionError:
        raise InputError("JSON nested too deeply to be a scalinglaws result",
                         hint="give a file written by scalinglaws") from None
    if not isinstance(data, dict):
        raise InputError("not a scalinglaws fit result (the JSON is not an object)",
                         hint="give a file written by scalinglaws")
    return data


def _enc(value):
    """Make a value JSON-safe: arrays to lists, non-finite floats to strings."""
    if isinstance(value, Mapping):
        return {str(k): _enc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_enc(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    return value


def _dec(value):
    if isinstance(value, dict):
        return {k: _dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec(v) for v in value]
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def _dec_array(value, dtype=None) -> np.ndarray:
    return np.array(_dec(value), dtype=dtype if dtype is not None else float)

