"""``scalinglaws isoflop``: IsoFLOP analysis (Hoffmann et al.'s approach 2)."""

from __future__ import annotations

import click

from ..forecasting import isoflop
from ..io import read_points
from . import options as opt
from .output import Session


@click.command("isoflop")
@opt.format_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--method", type=click.Choice(isoflop.METHODS), default="parabola", show_default=True,
              help="How each budget's minimum is found.")
@click.option("--window", type=opt.Count(0), default=5, show_default=True,
              help="Runs around the lowest loss used by the parabola (0: all; otherwise at least 3).")
@opt.columns_option
@opt.plot_option
def command(file, method, window, cols, plot_path):
    """IsoFLOP analysis (approach 2) of FILE: each budget's optimal N and D, and N_opt ∝ C^a, D_opt ∝ C^b."""
    session = Session(inputs=[file])
    if window in (1, 2):
        raise click.BadParameter("use 0 (every run) or at least 3 runs", param_hint="--window")
    table = read_points(file, columns=dict(cols) or None, require=("N", "D", "C"))
    result = isoflop.isoflop_analysis(table, method=method, window=window or None)
    from ..plot import plot_isoflop

    return session.present(result, plot_path=plot_path, figure=lambda: plot_isoflop(result))
