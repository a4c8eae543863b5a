"""Loss forecasts at new model sizes, token counts or compute budgets, with bands and the distance beyond the data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import LawError, ScalingLawsError
from ..schema import format_number
from .allocation import compute_optimal
from ..fitting.extrapolation import WARN_BEYOND, beyond_data, warn_extrapolation

__all__ = ["forecast", "Forecast"]


@dataclass(frozen=True, eq=False)
class Forecast:
    """Forecast losses: :attr:`table` has one row per target with the law's inputs, ``C`` when the law has a
    compute, ``loss`` (nats/token), ``lower``/``upper`` (the ``level`` band of ``kind``), and the extrapolation
    distance ``beyond_C`` with the per-input ``beyond_<input>`` (see :mod:`.extrapolation`).

    ``band`` says where the noise part of the band comes from (``bootstrap`` replicates or the fit's ``asymptotic``
    covariance; ``band_description`` in words), ``model_error`` how the model-error part was calibrated (empty
    for the noise band alone); ``warning`` holds the extrapolation warning, when one was given.
    """

    table: pd.DataFrame
    law: str
    formula: str
    level: float
    kind: str
    band: str
    band_description: str = ""
    model_error: str = ""
    source: str = ""
    warning: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """The forecasts as the command line prints them (a loss curve: 11 of its steps)."""
        if "step" in self.table:
            return self._curve_summary()
        inputs = [c for c in self.table.columns if c not in ("loss", "lower", "upper", "C") and not c.startswith("beyond")]
        inputs = [c for c in inputs if c not in ("noise_lower", "noise_upper", "model_error", "distance")]
        lines = [f"Forecast{f' from {self.source}' if self.source else ''} ({self.law}: {self.formula}); "
                 f"{100 * self.level:g}% band of {'a new run' if self.kind == 'observation' else 'the law'}: noise "
                 f"from {self.band_description or self.band}" + (f", {self.model_error}" if self.model_error
                                                                  else " (no model error: the narrow band)")]
        header = "  ".join(f"{k:>10}" for k in inputs)
        lines.append(f"  {header}  {'loss (nats/token)':>26}  {'noise':>7}  {'model':>7}  {'beyond (C)':>10}")
        for row in self.table.itertuples(index=False):
            row = row._asdict()
            cells = "  ".join(f"{format_number(row[k]):>10}" for k in inputs)
            band = f"{row['loss']:.4f}"
            if np.isfinite(row.get("lower", np.nan)):
                band += f" [{row['lower']:.4f}, {row['upper']:.4f}]"
            beyond = row.get("beyond_C", np.nan)
            far = "-" if not np.isfinite(beyond) or beyond <= 1.0001 else f"x{beyond:.3g}"
            lines.append(f"  {cells}  {band:>26}  {band_part(row, 'noise')}  {band_part(row, 'model')}  {far:>10}")
        lines.append("noise: the band without the model error (half-width, % of the loss); model: the error of the "
                     "law itself, which grows with the distance beyond the data")
        lines.append("beyond (C): the target's compute over the largest fitted compute (per-input ratios in the "
                     "table's beyond_<input> columns)")
        lines.extend(f"Note: {n}" for n in self.notes)
        if self.warning:
            lines.append(f"Warning: {self.warning}")
        return "\n".join(lines)

    def _curve_summary(self) -> str:
        t = self.table
        lines = [f"Forecast{f' from {self.source}' if self.source else ''} ({self.law}) {self.formula}; "
                 f"{100 * self.level:g}% band of {'a new run' if self.kind == 'observation' else 'the law'}: noise "
                 f"from {self.band_description or self.band}" + (f", {self.model_error}" if self.model_error
                                                                  else " (no model error: the narrow band)"),
                 f"  {'step':>8} {'lr':>10} {'loss (nats/token)':>28}  {'noise':>7}  {'model':>7}"]
        for i in np.unique(np.linspace(0, len(t) - 1, 11).round().astype(int)):
            row = t.iloc[i].to_dict()
            band = f"{row['loss']:.4f}" + (f" [{row['lower']:.4f}, {row['upper']:.4f}]" if "lower" in t else "")
            lines.append(f"  {int(row['step']):>8} {row['lr']:>10.3g} {band:>28}  {band_part(row, 'noise')}  "
                         f"{band_part(row, 'model')}")
        if "beyond_step" in t:
            lines.append(f"The last step is {t['beyond_step'].iloc[-1]:.3g}x the last fitted step.")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``forecast``: the table."""
        return {"forecast": self.table}


def band_part(row, part: str, prefix: str = "") -> str:
    """The half-width of one part of a band (``noise`` or ``model``) as ±% of the loss, 7 characters wide; ``prefix``
    names the band's columns (``loss_`` in allocation tables: ``loss_noise_lower``, ``loss_model_error``)."""
    get = row.get if isinstance(row, dict) else (lambda k, d=np.nan: getattr(row, k, d))
    if part == "model":
        value = get(f"{prefix}model_error", np.nan)
        return f"{'±' + format(100 * value, '.2g') + '%' if np.isfinite(value) else '-':>7}"
    lo, hi, center = get(f"{prefix}noise_lower", np.nan), get(f"{prefix}noise_upper", np.nan), get("loss")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{'-':>7}"
    return f"{'±' + format(50 * (hi - lo) / center, '.2g') + '%':>7}"


def forecast(fit, *, level: float = 0.9, kind: str = "observation", model_error: bool = True,
             warn_beyond: float = WARN_BEYOND, flops_per_token: float = 6.0, data=None, schedule=None,
             **inputs) -> Forecast:
    """Predicted loss (nats/token) at the given inputs, with a band, as a :class:`Forecast`.

    ``fit`` is a :class:`~scalinglaws.FitResult` (noise part of the band from its asymptotic covariance) or a
    :class:`~scalinglaws.BootstrapResult` (from its replicates). Give the law's inputs by name (``N=7e9, D=2e12``;
    arrays broadcast) or a DataFrame ``data``. For a law of N and D, ``C`` (FLOPs) alone means the compute-optimal
    split of that budget, and ``C`` with ``N`` means D = C/(k·N).

    The band (:mod:`scalinglaws.fitting.bands`) is by default that of a new run's measured loss
    (``kind="observation"``; ``"mean"``: the law's mean) with the model error calibrated by backtests inside the
    data, which grows with the distance beyond the data (``model_error=False``: the narrow noise band alone). The
    table has both parts: ``noise_lower``/``noise_upper`` and ``model_error`` (the model-error half-width on the
    log scale). An :class:`~scalinglaws.exceptions.ExtrapolationWarning` fires when a target's compute is more than
    ``warn_beyond`` times the largest fitted compute.

    A loss-curve law forecasts the curve along a ``schedule`` (a :class:`~scalinglaws.schedules.Schedule` or a spec
    such as ``"wsd:steps=50000,peak=3e-4,cooldown=0.2"``; ``N=`` for laws across sizes) with
    :func:`~scalinglaws.forecasting.curves.predict_curve`; its distance is ``beyond_step``, the last step over the
    last fitted step.

    Example: ``forecast(fit, N=7e10, D=1.4e12).table`` or ``forecast(sl.bootstrap(fit), C=[1e23, 1e24])``.
    """
    law = fit.law
    if law.capabilities.curve:
        return _curve_forecast(fit, schedule, level, kind, model_error, inputs)
    if schedule is not None:
        raise LawError(f"law '{law.name}' is not a loss-curve law: it forecasts inputs ({', '.join(law.inputs)}), "
                       "not a schedule")
    values = {k: data[k] for k in data.columns} if data is not None else dict(inputs)
    unknown = [k for k in values if k not in law.inputs and k != "C"]
    if unknown:
        raise LawError(f"law '{law.name}' has no input {', '.join(map(repr, unknown))}; it takes "
                       f"{', '.join(law.inputs)}")
    if "C" in values and "C" not in law.inputs:
        if law.capabilities.allocation is None:
            raise LawError(f"a compute budget C needs a law of N and D; '{law.name}' takes {', '.join(law.inputs)}")
        C = np.atleast_1d(np.asarray(values.pop("C"), dtype=float))
        if np.any(~np.isfinite(C)) or np.any(C <= 0):
            raise ScalingLawsError(f"compute budgets must be positive FLOP counts, got {C.tolist()}")
        if "N" in values and "D" in values:  # three of them: which to believe would be a guess
            raise ScalingLawsError("give N and D, or C with N (D = C/(6N)), or C alone (the compute-optimal "
                                   "split), not C, N and D together; drop --compute, --params or --tokens")
        if "N" in values:
            N = np.broadcast_to(np.asarray(values["N"], dtype=float), C.shape)
            values = {"N": N, "D": C / (flops_per_token * N)}
        else:
            alloc = compute_optimal(fit, C, flops_per_token=flops_per_token, level=None)
            values = {"N": alloc["N_opt"].to_numpy(), "D": alloc["D_opt"].to_numpy()}
    X = law.inputs_of(values)
    for name, v in X.items():
        if np.any(~np.isfinite(v)) or np.any(v <= 0):
            raise ScalingLawsError(f"{name} must be positive and finite, got {np.atleast_1d(v).tolist()}")
    lengths = {np.size(v) for v in X.values()} - {1}
    if len(lengths) > 1:
        raise ScalingLawsError(f"lists of targets must have the same length (or one value); got "
                               f"{', '.join(f'{k}: {np.size(v)}' for k, v in X.items())}")
    shape = np.broadcast_shapes(*(np.shape(v) for v in X.values()))
    X = {k: np.broadcast_to(v, shape).ravel().astype(float) for k, v in X.items()}
    table = fit.band(level=level, kind=kind, model_error=model_error, **X).drop(columns="distance")
    far = beyond_data(fit, X)
    if "C" not in table and np.isfinite(far["beyond_C"]).any():
        table.insert(len(X), "C", flops_per_token * X["N"] * X["D"] if {"N", "D"} <= set(X) else np.nan)
    table = pd.concat([table.reset_index(drop=True), far], axis=1)
    message = warn_extrapolation(fit, far, warn_beyond)
    return Forecast(table=table, law=law.name, formula=law.formula, level=level, kind=kind,
                    band=fit.band_source, band_description=fit.band_description, warning=message,
                    model_error=fit.model_error.describe(level) if model_error else "")


def _curve_forecast(fit, schedule, level, kind, model_error, inputs) -> Forecast:
    from .curves import predict_curve

    if schedule is None:
        raise LawError(f"law '{fit.law.name}' forecasts a whole loss curve: give schedule='wsd:steps=...,peak=...'")
    unknown = [k for k in inputs if k != "N"]
    if unknown:
        raise LawError(f"a loss-curve forecast takes a schedule (and N for laws across sizes), not "
                       f"{', '.join(unknown)}")
    table = predict_curve(fit, schedule, level=level, kind=kind, N=inputs.get("N"), model_error=model_error)
    notes = []
    if getattr(fit, "method", None) == "residuals":
        notes.append("with fewer than 3 fitted runs the bootstrap resamples residuals as if independent; steps of "
                     "one curve are correlated, so the band is too narrow: fit more runs for a run bootstrap")
    spec = schedule if isinstance(schedule, str) else getattr(schedule, "spec", "") or "the schedule"
    return Forecast(table=table, law=fit.law.name, formula=f"along {spec}", level=level, kind=kind,
                    band=fit.band_source, band_description=fit.band_description, notes=tuple(notes),
                    model_error=fit.model_error.describe(level) if model_error else "")
