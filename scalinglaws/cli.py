"""The ``scalinglaws`` command line: a thin layer over the Python API.

Every error a user can cause prints one line, ``scalinglaws: error: <file, line, column: what; what to do>``,
on standard error and exits with code 2.
"""

from __future__ import annotations

import math
import re
import sys
import warnings

import click
import numpy as np

from . import __version__
from .exceptions import ScalingLawsError, ScalingLawsWarning
from .schema import POINT_INPUTS, format_number, parse_number

__all__ = ["cli", "main"]


def _budgets(value: str | None):
    if value is None:
        return None
    try:
        budgets = [parse_number(v) for v in value.split(",") if v.strip()]
    except ValueError as err:
        raise click.BadParameter(f"{err}; give FLOPs like 1e21,1e23", param_hint="--budgets") from None
    if not budgets or any(not (b > 0 and math.isfinite(b)) for b in budgets):
        raise click.BadParameter("budgets must be positive FLOP counts like 1e21,1e23", param_hint="--budgets")
    return budgets


def _columns(pairs: tuple[str, ...]) -> dict[str, str] | None:
    out = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise click.BadParameter(f"{pair!r} is not CANONICAL=COLUMN (e.g. N=n_params)", param_hint="--col")
        out[name.strip()] = column.strip()
    return out or None


def _pairs(values: tuple[str, ...], option: str, example: str) -> list[tuple[str, str]]:
    out = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE (e.g. {example})", param_hint=option)
        out.append((name.strip(), value.strip()))
    return out


def _number(text: str, option: str) -> float:
    try:
        return parse_number(text)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


def _law(name: str, fix, tie, bound, grid, log):
    """The law named (or written as an expression) with the user's fixed, tied, bounded, gridded parameters."""
    from .exceptions import LawError
    from .laws import ExpressionLaw, get_law

    try:
        law = get_law(name)
    except LawError:
        if not re.search(r"[-+*/()]", name):
            raise
        law = ExpressionLaw(name)
    if log:
        law = law.with_params(**{n: {"log": True, "bounds": (0.0, np.inf)} for n in log})
    for pname, value in _pairs(bound, "--bound", "E=1.5:2.5"):
        lo, sep, hi = value.partition(":")
        if not sep:
            raise click.BadParameter(f"{value!r} is not LO:HI (either may be empty)", param_hint="--bound")
        law = law.bound(**{pname: (_number(lo, "--bound") if lo.strip() else -np.inf,
                                   _number(hi, "--bound") if hi.strip() else np.inf)})
    for pname, value in _pairs(grid, "--grid", "alpha=0.2,0.4"):
        law = law.with_grid(**{pname: [_number(v, "--grid") for v in value.split(",") if v.strip()]})
    law = law.fix(**{k: _number(v, "--fix") for k, v in _pairs(fix, "--fix", "alpha=0.34")})
    return law.tie(**dict(_pairs(tie, "--tie", "beta=alpha")))


def _default_budgets(C: np.ndarray) -> list[float]:
    top = math.floor(math.log10(float(np.max(C))))
    return [10.0**k for k in range(top, top + 5)]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="scalinglaws", message="%(prog)s %(version)s")
def cli():
    """Fit scaling laws to training runs and forecast bigger runs."""


@cli.command("fit")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--law", "law_name", default="chinchilla", show_default=True,
              help="Law to fit: a name from 'scalinglaws laws', or an expression like 'E + A/N**alpha'.")
@click.option("--fix", multiple=True, metavar="NAME=VALUE", help="Hold a parameter at a value. Repeatable.")
@click.option("--tie", multiple=True, metavar="NAME=EXPR", help="Define a parameter by others (beta=alpha).")
@click.option("--bound", multiple=True, metavar="NAME=LO:HI", help="Bounds of a parameter (E=1.5:2.5, E=:3).")
@click.option("--grid", "grids", multiple=True, metavar="NAME=V1,V2,..", help="Start values of a parameter.")
@click.option("--log", "log_params", multiple=True, metavar="NAME",
              help="Fit a positive parameter on a log scale (for expression laws). Repeatable.")
@click.option("--out", "out", type=click.Path(path_type=str), help="Write the fit result as JSON here.")
@click.option("--plot", "plot_path", type=click.Path(path_type=str), help="Save a figure of the fit (.png, .svg, .pdf).")
@click.option("--col", "cols", multiple=True, metavar="NAME=COLUMN",
              help="Use COLUMN of the file as canonical column NAME (N, D, C, loss, run, exclude). Repeatable.")
@click.option("--loss", type=click.Choice(["huber", "l2"]), default="huber", show_default=True,
              help="Robust Huber or least squares, on log-loss residuals.")
@click.option("--delta", type=float, default=1e-3, show_default=True, help="Huber threshold on log residuals.")
@click.option("--top-k", type=int, default=8, show_default=True, help="Best screened starts to polish.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random starts.")
@click.option("--random-starts", type=int, default=0, show_default=True, help="Extra random starts.")
@click.option("--budgets", help="Compute budgets (FLOPs) for the allocation table, e.g. 1e21,1e23,1e25.")
def fit_command(file, law_name, fix, tie, bound, grids, log_params, out, plot_path, cols, loss, delta, top_k, seed,
                random_starts, budgets):
    """Fit a law to the runs in FILE (CSV, TSV, JSONL, JSON or Parquet; one row per run).

    Prints the parameters with standard errors, the fit quality, any warnings, and (for laws of N and D)
    the compute-optimal allocation at a few budgets. Rows with a true 'exclude' column are left out and
    counted. The file needs the columns the law reads (N, D, C, U, N_avg or S_min, and loss).
    """
    from .fitting import Fitter
    from .forecast import compute_optimal
    from .io import check_output_path, read_points

    budget_list = _budgets(budgets)
    columns = _columns(cols)
    fitter = Fitter(loss=loss, delta=delta, top_k=top_k, seed=seed, random_starts=random_starts)
    for path in (out, plot_path):
        if path:
            check_output_path(path, inputs=[file])
    if plot_path and not plot_path.lower().endswith((".png", ".svg", ".pdf")):
        raise click.BadParameter(f"{plot_path}: use a .png, .svg or .pdf file name", param_hint="--plot")
    law = _law(law_name, fix, tie, bound, grids, log_params)
    table = read_points(file, columns=columns, require=[k for k in law.inputs if k in POINT_INPUTS])
    renamed = ", ".join(f"{k} <- {v}" for k, v in table.attrs.get("columns", {}).items() if k != v)
    excluded = int(table["exclude"].sum()) if "exclude" in table else 0
    blank = table.attrs.get("blank_rows", 0)
    notes = [f"columns {renamed}" if renamed else "",
             f"{excluded} rows excluded by column '{table.attrs['columns']['exclude']}'" if excluded else "",
             f"{blank} blank lines ignored" if blank else ""]
    click.echo(f"Read {file}: {len(table)} rows" + "".join(f"; {n}" for n in notes if n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # the summary prints them
        result = fitter.fit(law, table)
    click.echo()
    click.echo(result.summary())
    if set(result.law.inputs) == {"N", "D"}:
        C = 6.0 * result.inputs["N"] * result.inputs["D"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalingLawsWarning)  # the table says which budgets have no optimum
            alloc = compute_optimal(result, budget_list or _default_budgets(C))
        click.echo()
        click.echo("Compute-optimal allocation (C = 6·N·D; data reach C = "
                   f"{float(np.max(C)):.3g} FLOPs):")
        click.echo(f"  {'C (FLOPs)':>10}  {'N_opt':>8}  {'D_opt':>8}  {'tokens/param':>12}  {'loss':>7}  beyond data")
        for row in alloc.itertuples():
            factor = row.C / float(np.max(C))
            beyond = f"x{factor:.3g}" if factor > 1.0001 else "-"
            if np.isnan(row.N_opt):
                click.echo(f"  {row.C:>10.3g}  no interior optimum: the law keeps improving toward an extreme N")
                continue
            click.echo(f"  {row.C:>10.3g}  {format_number(row.N_opt):>8}  {format_number(row.D_opt):>8}  "
                       f"{row.tokens_per_param:>12.4g}  {row.loss:>7.4f}  {beyond}")
    if out:
        result.to_json(out)
        click.echo(f"\nWrote {out}")
    if plot_path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .plot import plot_fit, save_figure

        fig = plot_fit(result)
        save_figure(fig, plot_path)
        plt.close(fig)
        click.echo(f"Wrote {plot_path}")


@cli.command("laws")
def laws_command():
    """List the registered laws with their formulas and parameters."""
    from .laws import available_laws, get_law

    for name in available_laws():
        click.echo(get_law(name).describe())
        click.echo()


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        result = cli.main(args=argv, prog_name="scalinglaws", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("scalinglaws: interrupted", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help() if err.ctx else str(err), err=True)
        return 2
    except click.ClickException as err:
        hint = ""
        if isinstance(err, click.UsageError) and err.ctx is not None:
            hint = f"; see '{err.ctx.command_path} --help'"
        click.echo(f"scalinglaws: error: {err.format_message().rstrip('.')}{hint}", err=True)
        return 2
    except ScalingLawsError as err:
        click.echo(f"scalinglaws: error: {err}", err=True)
        return 2
    except OSError as err:  # e.g. a full disk while writing an output
        where = f"{err.filename}: " if err.filename else ""
        click.echo(f"scalinglaws: error: {where}{err.strerror or err}", err=True)
        return 2
    return result if isinstance(result, int) else 0


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    _entry()
