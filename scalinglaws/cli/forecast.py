"""``scalinglaws forecast``: load a fit, forecast the loss at new sizes, budgets or schedules, present it."""

from __future__ import annotations

import warnings

import click

from .. import fitting, forecasting
from ..exceptions import ExtrapolationWarning
from ..fitting.bands import KINDS
from ..store import load
from . import options as opt
from .output import Session


def uncertainty(result, n_boot: int, seed: int, n_jobs: int, quiet: bool, session: Session):
    """The result to band with: a new bootstrap of ``n_boot`` replicates when asked, else the file's own
    (stored replicates, or the fit's asymptotic covariance), saying which."""
    if n_boot:
        fit = result.fit if isinstance(result, fitting.BootstrapResult) else result
        return fitting.bootstrap(fit, n_boot, seed=seed, n_jobs=n_jobs, progress=False if quiet else None)
    if isinstance(result, fitting.BootstrapResult):
        session.say(f"Bands from the {result.n_resamples} bootstrap replicates stored in the fit file.")
    else:
        session.say("Bands from the fit's asymptotic covariance (the file holds no bootstrap replicates; "
                    "'scalinglaws fit --bootstrap N --out FIT.json' stores some).")
    return result


@click.command("forecast")
@opt.format_option
@click.argument("fit_file", type=click.Path(dir_okay=False, path_type=str), metavar="FIT.json")
@click.option("--params", "params_", type=opt.NumberList("7e9,70B"), help="Model sizes N (comma-separated).")
@click.option("--tokens", type=opt.NumberList("1.4e12"), help="Training tokens D (comma-separated).")
@click.option("--compute", type=opt.NumberList("1e23"),
              help="Compute budgets C in FLOPs: alone, the compute-optimal split; with --params, D = C/(6N).")
@click.option("--input", "inputs", multiple=True, type=opt.KeyValue("U=3e11", opt.NumberList()),
              metavar="NAME=V1,V2", help="Any other input of the law. Repeatable.")
@click.option("--schedule", "schedule_spec", metavar="SPEC",
              help="Curve laws: the schedule to predict, e.g. 'wsd:steps=50000,peak=3e-4,cooldown=0.2,warmup=500'.")
@click.option("--observed", type=click.Path(dir_okay=False, path_type=str),
              help="Curve laws: a curves file to draw next to the prediction.")
@click.option("--level", type=opt.Level(), default=0.9, show_default=True, help="Level of the band.")
@click.option("--kind", type=click.Choice(KINDS), default="observation", show_default=True,
              help="Band of a new run's measured loss, or of the law's mean.")
@opt.band_option
@opt.plot_option
@click.option("--out", type=click.Path(path_type=str), help="Write the table here (.csv, .tsv, .jsonl, .parquet).")
@opt.bootstrap_options(default=0)
@click.option("--seed", type=opt.Count(0), default=0, show_default=True, help="Seed of a new bootstrap.")
def command(fit_file, params_, tokens, compute, inputs, schedule_spec, observed, level, kind, model_error, plot_path,
            out, n_boot, n_jobs, quiet, seed):
    """Forecast the loss of new runs from a saved fit (scalinglaws fit --out FIT.json).

    Prints the loss with its band and how far each target lies beyond the fitted data (its compute over the
    largest fitted compute). A loss-curve fit forecasts a whole schedule (--schedule).
    """
    session = Session(inputs=[fit_file, observed])
    result = load(fit_file)
    curve = result.law.capabilities.curve
    if curve and not schedule_spec:
        raise click.UsageError("a loss-curve fit forecasts a schedule: give --schedule 'wsd:steps=...,peak=...'")
    if not curve and (schedule_spec or observed):
        raise click.BadParameter("--schedule and --observed are for fits of loss-curve laws")
    values = {k: v for k, v in (("N", params_), ("D", tokens), ("C", compute)) if v is not None}
    values.update(dict(inputs))
    if not curve and not values:
        raise click.UsageError("give what to forecast: --params/--tokens, --compute or --input NAME=VALUES")
    uncertain = uncertainty(result, n_boot, seed, n_jobs, quiet, session)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # the summary says it
        if curve:
            size = values.get("N")
            made = forecasting.forecast(uncertain, schedule=schedule_spec, level=level, kind=kind,
                                        model_error=model_error, **({"N": size[0]} if size else {}))
        else:
            made = forecasting.forecast(uncertain, level=level, kind=kind, model_error=model_error, **values)
    from .. import plot
    from ..io import read_curves

    if curve:  # (d) of the planning figures: the observed part (the fitted curves unless --observed), the band
        fitted = getattr(result, "fit", result).data[["run", "step", "loss"]]
        observed_curves = read_curves(observed) if observed else fitted
        last = float(max(result.inputs["step"]))
        figure = lambda: plot.plot_curve_forecast(made.table, observed=observed_curves,  # noqa: E731
                                                  title=f"{result.law.name}: {schedule_spec}", fitted_until=last)
    elif set(values) == {"C"} and result.law.capabilities.allocation:  # budgets alone: the planning figures
        from ..plan_figures import plot_planning

        figure = lambda: plot_planning(uncertain, values["C"], level=level, model_error=model_error)  # noqa: E731
    else:
        figure = lambda: plot.plot_fit(uncertain, level=level, forecast=made.table)  # noqa: E731
    return session.present(made, out=out, table=made.table, plot_path=plot_path, figure=figure)
