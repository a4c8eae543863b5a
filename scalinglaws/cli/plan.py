"""``scalinglaws plan``: load a fit, plan runs for compute budgets (N, D, loss, batch size, learning rate)."""

from __future__ import annotations

import warnings

import click

from .. import forecasting
from ..exceptions import ScalingLawsWarning
from ..store import load
from . import options as opt
from .forecast import uncertainty
from .output import Session


@click.command("plan")
@opt.format_option
@click.argument("fit_file", type=click.Path(dir_okay=False, path_type=str), metavar="FIT.json")
@click.option("--budget", "budgets", required=True, type=opt.NumberList("1e23,1e24"),
              help="Compute budgets in FLOPs (comma-separated), e.g. 1e23,1e24.")
@click.option("--inference-tokens", type=opt.Number(), default=None,
              help="Tokens the model will generate over its life (counted at 2 FLOPs per parameter each, inside the "
                   "budget).")
@click.option("--unique-tokens", type=opt.Number(), default=None,
              help="Cap on unique training tokens; repeats are discounted (data-constrained law).")
@click.option("--flops", help="Training FLOPs as an expression in N and D (default 6*N*D).")
@click.option("--hparams", type=click.Choice(forecasting.planning.HPARAM_CHOICES), default="steplaw",
              show_default=True, help="Published law for the batch size and learning rate.")
@click.option("--seq-len", type=opt.Count(1), default=2048, show_default=True,
              help="Sequence length, to give the batch in sequences.")
@click.option("--level", type=opt.Level(), default=0.9, show_default=True, help="Level of the intervals.")
@opt.band_option
@opt.plot_option
@click.option("--out", type=click.Path(path_type=str), help="Write the table here (.csv, .tsv, .jsonl, .parquet).")
@opt.bootstrap_options(default=0)
@click.option("--seed", type=opt.Count(0), default=0, show_default=True, help="Seed of a new bootstrap.")
def command(fit_file, budgets, inference_tokens, unique_tokens, flops, hparams, seq_len, level, model_error,
            plot_path, out, n_boot, n_jobs, quiet, seed):
    """Plan training runs from a saved fit: the compute-optimal N and D for each budget with their intervals,
    the loss to expect, how far beyond the fitted compute the budget lies, and a batch size and learning rate
    from a published hyperparameter law."""
    session = Session(inputs=[fit_file])
    result = load(fit_file)
    uncertain = uncertainty(result, n_boot, seed, n_jobs, quiet, session)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # the plan says which budgets have no optimum
        made = forecasting.plan(uncertain, budgets, inference_tokens=inference_tokens or 0.0,
                                unique_tokens=unique_tokens, flops=flops, hparams=hparams, seq_len=seq_len,
                                level=level, model_error=model_error)
    from ..plan_figures import plot_planning

    return session.present(made, out=out, table=made.table, plot_path=plot_path,
                           figure=lambda: plot_planning(uncertain, budgets, level=level, model_error=model_error))
