"""Predicting whole loss curves under new learning-rate schedules, and the questions users ask with them.

* :func:`predict_curve`: the loss at every step (or chosen steps) of a schedule, from a curve-law fit, with a
  band when given a bootstrap of it.
* :func:`best_cooldown`: for a fixed step budget, the final loss of WSD schedules with several cooldown
  lengths, shapes and final learning rates, best first.
* :func:`continue_run`: the loss of continuing a finished run for more steps, with a re-warmup to a peak
  learning rate and a new cooldown, against carrying on at the final learning rate.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..exceptions import LawError, ScalingLawsError
from ..fitting.bands import check_kind, check_level, combine, evaluate_draws, observation_noise, percentile_band
from ..fitting.extrapolation import curve_distance
from ..fitting.resample import BootstrapResult
from ..fitting.result import FitResult
from ..schedules import Schedule, constant, parse_schedule, wsd

__all__ = ["predict_curve", "best_cooldown", "continue_run"]

#: Replicates evaluated together when banding a curve (bounds memory for the Multi-Power law).
_REPLICATE_CHUNK = 16
#: Most parameter draws a curve band evaluates (a whole curve per draw).
_CURVE_DRAWS = 200


def _schedule(schedule: Schedule | str) -> Schedule:
    return parse_schedule(schedule) if isinstance(schedule, str) else schedule


def _curve_fit(fit) -> FitResult:
    """The full-data fit of a fit or a bootstrap of a curve law."""
    base = fit.fit if isinstance(fit, BootstrapResult) else fit
    if not base.law.capabilities.curve:
        raise LawError(f"law '{base.law.name}' is not a loss-curve law; fit one with fit_curves")
    return base


def predict_curve(fit: FitResult | BootstrapResult, schedule: Schedule | str, *, steps: Sequence[int] | None = None,
                  points: int = 500, N: float | None = None, level: float | None = 0.9, kind: str = "observation",
                  model_error: bool = True) -> pd.DataFrame:
    """Predicted loss along ``schedule`` (a :class:`Schedule` or a spec such as ``"cosine:steps=50000,peak=3e-4,
    final=3e-5,warmup=1000"``).

    ``steps`` defaults to ``points`` evenly spaced steps from the end of the warmup to the last step (which is
    always included). ``N`` is needed by ``lr-annealing-N``. ``level`` gives the band (``level=None``: none), as for
    point forecasts (:mod:`scalinglaws.fitting.bands`): its noise part from a bootstrap's replicates or a fit's
    asymptotic covariance, with a new run's scatter for ``kind="observation"`` (the default), and the model error
    calibrated by backtests inside the fitted curves (cut by step) growing with the distance in steps beyond the
    fitted ones in the target's learning-rate regime (:func:`~scalinglaws.fitting.extrapolation.curve_distance`;
    ``model_error=False``: none). Returns a DataFrame: step, lr, loss (+ lower, upper, noise_lower, noise_upper,
    model_error, beyond_step, distance).
    """
    base = _curve_fit(fit)
    schedule = _schedule(schedule)
    if steps is None:
        first = min(schedule.warmup + 1, schedule.steps - 1)
        steps = np.unique(np.append(np.linspace(first, schedule.steps - 1, points).round(), schedule.steps - 1))
    steps = np.asarray(steps, dtype=np.int64)
    if steps.size == 0 or steps.min() < 0 or steps.max() >= schedule.steps:
        raise ScalingLawsError(f"steps must lie within the schedule's 0 … {schedule.steps - 1}")
    law = base.law.bind({"forecast": schedule})
    X = {"run_index": np.zeros(steps.size), "step": steps.astype(float)}
    if "N" in law.inputs:
        if N is None:
            raise ScalingLawsError(f"law '{law.name}' needs the model size: predict_curve(..., N=...)")
        X["N"] = np.full(steps.size, float(N))
    out = pd.DataFrame({"step": steps, "lr": schedule.lr[steps], "loss": law.evaluate(X, *base.values)})
    if level is not None:
        check_level(level), check_kind(kind)
        good = fit.parameter_draws()[0]
        good = good[:: max(1, len(good) // _CURVE_DRAWS)]
        draws = evaluate_draws(law, good, X, chunk=_REPLICATE_CHUNK) if len(good) else np.empty((0, steps.size))
        if kind == "observation":
            draws = draws * observation_noise(base.residuals, draws.shape, fit.seed)
        far = curve_distance(base.law, base.inputs, law, X)
        M = base.model_error.halfwidth(far["distance"].to_numpy(), level) if model_error else np.zeros(steps.size)
        for column, values in combine(out["loss"].to_numpy(), *percentile_band(draws, level), M).items():
            out[column] = values
        out["beyond_step"], out["distance"] = far["beyond_step"].to_numpy(), far["distance"].to_numpy()
    return out


def best_cooldown(fit: FitResult, steps: int, peak: float, *, warmup: int = 0,
                  fractions: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0),
                  shapes: Sequence[str] = ("linear", "sqrt", "cosine"), finals: Sequence[float] = (0.0,),
                  N: float | None = None) -> pd.DataFrame:
    """Final loss of WSD schedules of ``steps`` steps at ``peak`` for every cooldown fraction, shape and final
    learning rate given; best first. A fraction of 1.0 is a decay over the whole run (after the warmup)."""
    base = _curve_fit(fit)
    rows = []
    for fraction in fractions:
        length = min(int(np.floor(fraction * steps)), steps - warmup)
        for shape in shapes:
            for final in finals:
                if shape == "exp" and final <= 0:
                    continue
                schedule = wsd(steps, peak, cooldown=max(length, 1), shape=shape, final=final, warmup=warmup)
                loss = predict_curve(base, schedule, steps=[steps - 1], N=N, level=None)["loss"].item()
                rows.append({"cooldown_fraction": fraction, "cooldown_steps": length, "shape": shape,
                             "final_lr": final, "final_loss": loss})
    return pd.DataFrame(rows).sort_values("final_loss", kind="stable").reset_index(drop=True)


def continue_run(fit: FitResult, schedule: Schedule | str, extra_steps: int, *, peak: float | None = None,
                 rewarmup: int = 1000, cooldown: float = 0.2, shape: str = "linear", final: float = 0.0,
                 N: float | None = None, points: int = 200) -> pd.DataFrame:
    """The loss of continuing a finished run (``schedule``) for ``extra_steps`` more steps, two ways:

    * ``"rewarmup"``: warm up again from the run's last learning rate to ``peak`` (default: the run's peak) over
      ``rewarmup`` steps, hold it, then cool down over the last ``cooldown`` of the new steps;
    * ``"constant"``: carry on at the run's last learning rate.

    Returns a DataFrame: option, step, lr, loss, over the continuation.
    """
    base = _curve_fit(fit)
    schedule = _schedule(schedule)
    if extra_steps < 1 or not 0 <= rewarmup < extra_steps:
        raise ScalingLawsError("need extra_steps >= 1 and 0 <= rewarmup < extra_steps")
    peak = schedule.peak if peak is None else peak
    last = float(schedule.lr[-1])
    continuation = wsd(extra_steps, peak, cooldown=cooldown, shape=shape, final=final, warmup=rewarmup,
                       warmup_start=last, name="rewarmup")
    options = {"rewarmup": schedule.extend(continuation),
               "constant": schedule.extend(constant(extra_steps, max(last, 1e-12), name="constant"))}
    steps = np.unique(np.linspace(schedule.steps, schedule.steps + extra_steps - 1, points).round()).astype(int)
    frames = [predict_curve(base, s, steps=steps, N=N, level=None).assign(option=name) for name, s in options.items()]
    return pd.concat(frames, ignore_index=True)[["option", "step", "lr", "loss"]]
