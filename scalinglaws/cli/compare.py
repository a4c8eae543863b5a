"""``scalinglaws compare``: backtest several laws on one split of the runs and rank them."""

from __future__ import annotations

import click

from .. import fitting
from ..io import ReadOptions, read_input
from ..laws import get_law
from ..schema import POINT_INPUTS
from . import options as opt
from .output import Session


@click.command("compare")
@opt.format_option
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--laws", "law_names", default="chinchilla,kaplan,farseer", show_default=True,
              help="Comma-separated laws to compare.")
@click.option("--by", type=click.Choice(["N", "D", "C"]), default="C", show_default=True,
              help="Scale to split on: fit below, predict above.")
@click.option("--holdout", type=opt.Count(1), default=1, show_default=True,
              help="Hold out the runs at this many largest values of --by.")
@click.option("--cutoff", type=opt.Number(), help="Hold out the runs with --by at or above this value instead "
              "(e.g. 1e20).")
@click.option("--level", type=opt.Level(), default=0.9, show_default=True, help="Level of the bands.")
@opt.band_option
@opt.columns_option
@opt.plot_option
@click.option("--out", type=click.Path(path_type=str), help="Write the table here (.csv, .tsv, .jsonl, .parquet).")
@opt.bootstrap_options(default=0)
@click.option("--scheduler", help="Run on the Dask cluster at this address (needs scalinglaws[dask]).")
@click.option("--seed", type=opt.Count(0), default=0, show_default=True, help="Seed of the bootstrap.")
def command(file, law_names, by, holdout, cutoff, level, model_error, cols, plot_path, out, n_boot, n_jobs, quiet,
            scheduler, seed):
    """Backtest several laws on FILE: fit each on the runs below a scale, predict the runs above.

    Ranks the laws by held-out error and prints in-range and held-out errors, the share of held-out runs
    inside their band, and AIC/BIC on the training runs.
    """
    session = Session(inputs=[file])
    names = [n.strip() for n in law_names.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("give at least one law", param_hint="--laws")
    laws = [get_law(n) for n in names]
    needed = tuple(sorted({k for law in laws for k in law.inputs if k in POINT_INPUTS} | {by}))
    data = read_input(file, ReadOptions(columns=dict(cols) or None, require=needed))
    session.say(data.summary())
    result = fitting.compare_laws(laws, data.table, by=by, cutoff=cutoff, holdout=holdout, bootstrap=n_boot,
                                  level=level, model_error=model_error, seed=seed, n_jobs=n_jobs,
                                  scheduler=scheduler, progress=False if quiet else None)
    from ..plot import plot_backtest

    return session.present(result, out=out, table=result.table, plot_path=plot_path,
                           figure=lambda: plot_backtest(result))
