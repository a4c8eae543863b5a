"""``scalinglaws fit``: read runs or logs, fit a law, bootstrap it if asked, and present the fit and its
compute-optimal allocation."""

from __future__ import annotations

import warnings

import click

from .. import fitting, forecasting
from ..exceptions import InputError, ScalingLawsWarning
from ..io import LogOptions, ReadOptions, read_input
from ..laws import make_law
from ..schema import POINT_INPUTS
from . import options as opt
from .output import Session


def log_settings(runs_file, how, metric, regex, keys, n_count, skip_bad_lines, ema=10, ema_unit="steps",
                 strict=False, tracking_uri=None) -> LogOptions:
    """The log options of a command (:func:`~scalinglaws.cli.options.log_options`), as the library's
    :class:`LogOptions`."""
    return LogOptions(runs=runs_file, regex=regex, keys=dict(keys) or None, params=n_count.replace("-", "_"),
                      skip_bad_lines=skip_bad_lines, how=how, metric=metric, ema=ema, ema_unit=ema_unit,
                      strict=strict, tracking_uri=tracking_uri)


def fitter_settings(loss, delta, top_k, seed, random_starts) -> dict:
    """The fitter settings the user gave (the rest keep the library's or the recipe's defaults)."""
    given = {"loss": loss, "delta": delta, "top_k": top_k}
    return {**{k: v for k, v in given.items() if v is not None}, "seed": seed, "random_starts": random_starts}


@click.command("fit")
@opt.format_option
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@opt.law_options
@click.option("--out", type=click.Path(path_type=str),
              help="Write the fit (with its bootstrap replicates, if any) as JSON here.")
@opt.plot_option
@opt.columns_option
@opt.fitter_options
@click.option("--budgets", type=opt.NumberList(), help="Compute budgets (FLOPs) for the allocation table, e.g. "
              "1e21,1e23,1e25 (default: five decades from the largest fitted compute).")
@click.option("--schedule", "schedules", multiple=True, metavar="[RUN=]SPEC",
              help="Curve laws: the exact schedule of a run, e.g. run1=wsd:steps=20000,peak=1e-3,cooldown=0.2 "
                   "(runs without one are rebuilt from the logged lr). Repeatable.")
@click.option("--recipe", type=click.Choice(list(fitting.RECIPES)), default="converged", show_default=True,
              help="Curve laws: fit to the minimum of the objective, or (multi-power) the authors' early-stopped "
                   "AdamW recipe, which reproduces their published coefficients (uses its own loss settings).")
@opt.band_option
@opt.bootstrap_options(default=0)
@opt.log_options
def command(file, law_name, fix, tie, bound, grids, log_params, out, plot_path, cols, loss, delta, top_k, seed,
            random_starts, budgets, schedules, recipe, model_error, n_boot, n_jobs, quiet, runs_file, how, metric,
            regex, keys, n_count, skip_bad_lines, ema, ema_unit, strict, tracking_uri):
    """Fit a law to the runs in FILE: a table of runs (CSV, TSV, JSONL, JSON or Parquet; one row per run), or
    training logs (a folder, or a log file of any format 'scalinglaws ingest' reads), whose runs become points.

    Prints the parameters with standard errors, the fit quality and its diagnostics, and (for laws of N and D)
    the compute-optimal allocation with bands. With --bootstrap N the replicates are stored in --out, so later
    'forecast' and 'plan' commands reuse them. Rows with a true 'exclude' column (and diverged runs of logs) are
    left out and counted.
    """
    session = Session(inputs=[file, runs_file])
    law = make_law(law_name, fix=dict(fix), tie=dict(tie), bounds=dict(bound), grid=dict(grids), log=log_params)
    logs = log_settings(runs_file, how, metric, regex, keys, n_count, skip_bad_lines, ema, ema_unit, strict,
                        tracking_uri)
    settings = fitter_settings(loss, delta, top_k, seed, random_starts)
    curve = law.capabilities.curve
    if not curve and (schedules or recipe != "converged"):
        raise click.BadParameter("--schedule and --recipe are for loss-curve laws (multi-power, lr-annealing)")
    data = read_input(file, ReadOptions(kind="curves" if curve else "points", columns=dict(cols) or None,
                                        require=tuple(k for k in law.inputs if k in POINT_INPUTS), logs=logs))
    session.say(data.summary())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # the summary prints them
        try:
            if curve:
                specs = fitting.curves.schedule_specs(schedules, data.table["run"].unique())
                result = fitting.fit_curves(data.table, law, schedules=specs, recipe=recipe, metric=metric,
                                            **settings)
            else:
                result = fitting.fit(law, data.table, **settings)
        except InputError as err:  # found after reading the file: name it
            raise err.in_file(file) from None
    from ..report import record_inputs

    result = record_inputs(result, [file, runs_file])  # the provenance of reports: paths and SHA-256
    session.say()
    session.show(result)
    uncertain = result
    if n_boot:
        uncertain = fitting.bootstrap(result, n_boot, seed=seed, n_jobs=n_jobs, progress=False if quiet else None)
        session.show(uncertain)
    allocation = None
    if result.law.capabilities.allocation:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalingLawsWarning)  # the table marks budgets without an optimum
            allocation = forecasting.plan(uncertain, budgets, hparams=None, model_error=model_error)
        session.say(allocation.summary(compact=True))
    session.add_text(out, uncertain.to_json)
    if plot_path:
        from ..plot import plot_fit

        session.add_figure(plot_path, lambda: plot_fit(uncertain))
    session.emit(uncertain, allocation=None if allocation is None else allocation.table)
    session.finish()
    return 0

