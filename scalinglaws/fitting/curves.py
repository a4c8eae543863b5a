"""Fitting loss-curve laws (LR-annealing, Multi-Power) to one or several training curves.

:func:`fit_curves` takes a curves table (run, step, lr, loss; any logging frequency), gets every run's
per-step learning rate (from a schedule you give, or rebuilt from the logged ``lr`` column by interpolation,
which the result reports), binds the law to those schedules and fits it with the robust fitter. Steps up to
the end of the warmup, and logged steps without a loss, are left out and counted, never silently dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import InputError, LawError
from ..laws.curves import CurveLaw, ScheduleSet
from ..laws.registry import get_law
from ..schedules import Schedule, from_log, parse_schedule
from ..schema import curves_table
from .adamw import AdamW
from .optimize import Fitter
from .result import FitResult

__all__ = ["fit_curves", "curve_schedules", "schedule_specs", "RECIPES", "MULTI_POWER_SHAPE"]

#: The shape of the Multi-Power law's loss drop, G(x) = 1 − (C·x + 1)^−beta with x = η^−gamma·S_k(t), that the
#: authors' fits share across model sizes: the means of their published C, beta, gamma at 25M, 100M and 400M
#: (thu-yao-01-luo/MultiPowerLaw ``src/config.py`` PARAMS: C 2.025–2.132, beta 0.583–0.598, gamma 0.635–0.655;
#: absolute learning rates, peak 3e-4).
MULTI_POWER_SHAPE = {"C": 2.07423, "beta": 0.591382, "gamma": 0.643795}

#: Fit recipes of :func:`fit_curves`: fitter settings by name, and (``hold``) parameters held at given values
#: per law. ``converged`` (default) finds the minimum of the Huber objective (Gauss-Newton from the 4 best
#: of the law's starts); for ``multi-power`` it holds the drop's shape (C, beta, gamma) at
#: :data:`MULTI_POWER_SHAPE` and fits L0, A, alpha, B. One or two cooldowns do not identify that shape: fitted
#: free, beta runs to 1e-4–1e-2 with B to 1e5 (a drop that keeps growing with the log of the cooldown) and the
#: forecasts of longer cooldowns miss by 0.011–0.032 nats per model size on Hägele et al.'s WSD runs; held,
#: they miss by 0.002–0.010 (docs/benchmarks.md, "Multi-Power law beyond its paper's runs"). Parameters the
#: law given to :func:`fit_curves` fixes, ties or re-bounds itself are not held. ``free`` is the same fit with
#: every parameter free (the minimum over all 7: use it when the runs have several cooldowns of different
#: lengths, which identify the shape). ``luo2025`` is the Multi-Power-law authors' recipe (their
#: ``src/fitting.py``): from their reduced-law start, at most 200 AdamW steps (torch's default weight decay
#: 0.01) with learning rates 5e-2 for L0, A, B, C and 5e-3 for alpha, beta, gamma, stopped after 20 steps
#: without improvement, keeping the iterate after the best one as their code does. It reproduces the
#: published coefficients and, being an early-stopped fit, is not the minimum of the objective (only for
#: ``multi-power``).
RECIPES = {
    "converged": {"top_k": 4, "polish": "trf", "hold": {"multi-power": MULTI_POWER_SHAPE}},
    "free": {"top_k": 4, "polish": "trf"},
    "luo2025": {"top_k": 1, "polish": "adamw", "starts": "data", "loss": "huber", "delta": 1e-3,
                "adamw": AdamW(lr={"L0": 5e-2, "A": 5e-2, "B": 5e-2, "C": 5e-2, "alpha": 5e-3, "beta": 5e-3,
                                   "gamma": 5e-3}, steps=200, patience=20, weight_decay=0.01, grad_tol=1e-5,
                               keep="after-best")},
}


def curve_schedules(curves: pd.DataFrame, schedules: Mapping[str, Schedule | str] | None = None,
                    *, warmup: int | Mapping[str, int] | None = None) -> tuple[ScheduleSet, dict[str, str]]:
    """The per-step schedule of every run of a curves table, and how each was obtained.

    A run's schedule is ``schedules[run]`` (a :class:`Schedule` or a spec string such as
    ``"wsd:steps=20000,peak=1e-3,cooldown=0.2,warmup=300"``) when given, else rebuilt from its logged ``lr`` by
    linear interpolation ("interpolated from N logged values"). ``warmup`` overrides the warmup length (steps)
    of rebuilt schedules, which is otherwise the initial rise of the learning rate.
    """
    schedules = dict(schedules or {})
    built, how = [], {}
    for run, group in curves.groupby("run", sort=False):
        given = schedules.pop(run, None)
        if given is not None:
            schedule = parse_schedule(given, name=str(run)) if isinstance(given, str) else given
            how[run] = f"given ({schedule.spec})" if schedule.spec else "given"
        else:
            logged = group.dropna(subset=["lr"])
            if logged.empty:
                raise InputError(f"run {run!r} has no learning rate column and no schedule was given",
                                 hint="give schedules={run: 'wsd:steps=...,peak=...'} or --schedule RUN=SPEC")
            w = warmup.get(run) if isinstance(warmup, Mapping) else warmup
            schedule = from_log(logged["step"], logged["lr"], total_steps=int(group["step"].max()) + 1, warmup=w,
                                name=str(run))
            logged_steps = np.sort(logged["step"].to_numpy())
            gaps = np.diff(logged_steps)
            how[run] = ("per-step learning rates as logged" if gaps.size == 0 or gaps.max() <= 1 else
                        f"interpolated from {len(logged)} logged values (every {int(np.median(gaps))} steps)")
            if logged_steps[0] > 0:
                how[run] += (f"; nothing logged before step {logged_steps[0]}, where the learning rate is taken as "
                             "constant (a warmup there is missed: give the schedule)")
        built.append((str(run), schedule))
    if schedules:
        raise InputError(f"schedules given for runs not in the table: {', '.join(map(str, schedules))}")
    return ScheduleSet(built), how


def schedule_specs(specs, runs) -> dict[str, str]:
    """Schedules given as ``RUN=SPEC`` strings (or a bare ``SPEC`` when there is one run) → run → spec.

    >>> schedule_specs(["a=wsd:steps=100,peak=1e-3", "b=cosine:steps=50,peak=1e-3"], ["a", "b"])["b"]
    'cosine:steps=50,peak=1e-3'
    """
    runs = [str(r) for r in runs]
    out = {}
    for spec in specs:
        run, sep, text = str(spec).partition("=")
        if not sep or ":" in run:  # a bare spec: the only run's
            if len(runs) != 1:
                raise InputError(f"schedule {spec!r}: name the run (RUN=SPEC); there are {len(runs)} runs",
                                 hint=f"runs: {', '.join(runs[:10])}")
            run, text = runs[0], spec
        if run not in runs:
            raise InputError(f"no run {run!r} in the curves for the schedule {text!r}",
                             hint=f"runs: {', '.join(runs[:10])}")
        out[run] = text
    return out


def fit_curves(curves, law: str | CurveLaw = "multi-power", *, schedules: Mapping[str, Schedule | str] | None = None,
               exclude_warmup: bool = True, min_step: int | None = None, columns: Mapping[str, str] | None = None,
               warmup: int | Mapping[str, int] | None = None, recipe: str = "converged", metric: str = "auto",
               **settings) -> FitResult:
    """Fit a loss-curve law to the curves of one or several runs.

    Parameters
    ----------
    curves : DataFrame
        A curves table (run, step, lr, loss, eval_loss; more columns are kept), e.g. from
        :func:`~scalinglaws.io.read_curves` or ``sl.ingest(...).curves``.
    law : name or CurveLaw
        ``"multi-power"``, ``"lr-annealing"`` or ``"lr-annealing-N"`` (needs an ``N`` column), or a law object.
    schedules : mapping run → Schedule or spec, optional
        Exact schedules; runs without one get theirs rebuilt from the logged ``lr`` (see :func:`curve_schedules`).
    exclude_warmup : bool
        Leave out the steps up to the end of each run's warmup (their loss is ruled by the warmup).
    min_step : int, optional
        Also leave out steps below this.
    recipe : {"converged", "free", "luo2025"}
        How to fit (:data:`RECIPES`): the minimum of the objective (default; for the Multi-Power law with the
        drop's shape C, beta, gamma held at the authors' shared values, which one or two cooldowns cannot
        identify), the minimum with every parameter free (``free``), or, for the Multi-Power law, the
        authors' early-stopped AdamW, which reproduces their published coefficients and forecasts their
        held-out schedules best (docs/benchmarks.md).
    metric : {"auto", "train", "eval"}
        Which loss column is fitted: ``loss`` (training), ``eval_loss``, or ``auto``: the training loss, or the
        evaluation loss when no training loss was logged. ``settings["metric"]`` of the result says which.
    settings
        Fitter settings over the recipe's (loss, delta, top_k, polish (the default recipe uses "trf":
        Gauss-Newton from each start, much faster than L-BFGS-B in the flat valleys of curve laws), ...). The
        recipe's own settings are kept unless named here; a recipe that prescribes its loss refuses others.

    Notes
    -----
    The result's ``settings["schedules"]`` says how each run's schedule was obtained, ``settings["held"]``
    which parameters the recipe held and at what values; rows left out (warmup, missing loss) are counted in
    ``n_excluded``.
    """
    law = get_law(law)
    if not law.capabilities.curve:
        raise LawError(f"law '{law.name}' is not a loss-curve law; use multi-power, lr-annealing or lr-annealing-N")
    if recipe not in RECIPES:
        raise InputError(f"unknown fit recipe {recipe!r}", hint=f"use one of {', '.join(RECIPES)}")
    if recipe == "luo2025" and law.name != "multi-power":
        raise InputError(f"the luo2025 recipe fits the multi-power law, not '{law.name}'",
                         hint="fit other laws with the converged recipe (the default)")
    fixed = {k: RECIPES[recipe][k] for k in ("loss", "delta") if k in RECIPES[recipe] and recipe != "converged"}
    changed = [k for k, v in fixed.items() if k in settings and settings[k] != v]
    if changed:
        raise InputError(f"the {recipe} recipe fits with its own {' and '.join(changed)} "
                         f"({', '.join(f'{k} {fixed[k]}' for k in changed)})",
                         hint="leave them out, or use the converged recipe")
    if metric not in ("auto", "train", "eval"):
        raise InputError(f"metric must be auto, train or eval, not {metric!r}")
    if not isinstance(curves, pd.DataFrame):
        raise InputError(f"fit_curves takes a curves table, not {type(curves).__name__}",
                         hint="read a file first: sl.read_curves(path), or sl.ingest(path).curves")
    table = curves_table(curves, columns=columns)
    use_eval = metric == "eval" or (metric == "auto" and table["loss"].isna().all())
    if use_eval:
        table = table.assign(loss=table["eval_loss"])
    duplicated = table.duplicated(subset=["run", "step"], keep=False)
    if duplicated.any():
        first = table.loc[duplicated].iloc[0]
        raise InputError(f"run {first['run']!r} logs step {first['step']} more than once (a restart?)",
                         hint="keep one segment of the run (scalinglaws ingest keeps the latest)")
    schedule_set, how = curve_schedules(table, schedules, warmup=warmup)
    index = {name: i for i, name in enumerate(schedule_set.names)}
    frame = pd.DataFrame({"run": table["run"].to_numpy(), "run_index": table["run"].map(index).to_numpy(),
                          "step": table["step"].to_numpy(), "loss": table["loss"].to_numpy()})
    if "N" in law.inputs:
        if "N" not in table.columns:
            raise InputError(f"law '{law.name}' needs an N column (parameters of each run)",
                             hint="add a column N to the curves table")
        frame["N"] = pd.to_numeric(table["N"], errors="coerce").to_numpy()
    lengths = np.array([s.steps for s in schedule_set.schedules])
    beyond = frame["step"].to_numpy() >= lengths[frame["run_index"].to_numpy()]
    if beyond.any():
        row = frame.loc[beyond].iloc[0]
        raise InputError(f"run {row['run']!r} logs step {row['step']} beyond its schedule of "
                         f"{lengths[row['run_index']]} steps", hint="give the full schedule of the run")
    warm = np.array([s.warmup for s in schedule_set.schedules])[frame["run_index"].to_numpy()]
    excluded = ~np.isfinite(frame["loss"].to_numpy(dtype=float))
    if exclude_warmup:
        excluded |= frame["step"].to_numpy() <= warm
    if min_step is not None:
        excluded |= frame["step"].to_numpy() < min_step
    frame["exclude"] = excluded
    frame.loc[excluded, "loss"] = np.nan
    if (~excluded).sum() == 0:
        raise InputError("no step is left to fit after the warmup and missing losses are left out",
                         hint="check the loss column, or pass exclude_warmup=False")
    law, held = _hold(law, RECIPES[recipe].get("hold", {}).get(law.name, {}))
    fitter = Fitter(**{**{k: v for k, v in RECIPES[recipe].items() if k != "hold"}, **settings})
    result = fitter.fit(law.bind(schedule_set), frame)
    return replace(result, settings={**dict(result.settings), "recipe": recipe, "schedules": how, "held": held,
                                     "metric": "eval_loss" if use_eval else "loss"})


def _hold(law: CurveLaw, values: Mapping[str, float]) -> tuple[CurveLaw, dict[str, float]]:
    """The law with the recipe's parameters fixed at ``values``, except those the caller already changed
    (fixed, tied or given other bounds or grids); and the values held."""
    defaults = {p.name: p for p in type(law).default_params}
    held = {k: float(v) for k, v in values.items() if law.param(k) == defaults.get(k)}
    return (law.fix(**held) if held else law), held
