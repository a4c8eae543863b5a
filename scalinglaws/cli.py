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


def _check_outputs(file: str, out: str | None, plot_path: str | None) -> None:
    """Refuse, before any work, outputs that cannot be written or would overwrite the input."""
    from .io import check_output_path

    for path in (out, plot_path):
        if path:
            check_output_path(path, inputs=[file])
    if plot_path and not plot_path.lower().endswith((".png", ".svg", ".pdf")):
        raise click.BadParameter(f"{plot_path}: use a .png, .svg or .pdf file name", param_hint="--plot")


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
@click.option("--bootstrap", "n_boot", type=int, default=0, show_default=True,
              help="Bootstrap replicates (resampling runs) for 90% intervals of the parameters and allocation.")
@click.option("--n-jobs", type=int, default=1, show_default=True, help="Worker processes for the bootstrap.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def fit_command(file, law_name, fix, tie, bound, grids, log_params, out, plot_path, cols, loss, delta, top_k, seed,
                random_starts, budgets, n_boot, n_jobs, quiet):
    """Fit a law to the runs in FILE (CSV, TSV, JSONL, JSON or Parquet; one row per run).

    Prints the parameters with standard errors, the fit quality, any warnings, and (for laws of N and D)
    the compute-optimal allocation at a few budgets. Rows with a true 'exclude' column are left out and
    counted. The file needs the columns the law reads (N, D, C, U, N_avg or S_min, and loss).
    """
    from .fitting import Fitter
    from .forecast import compute_optimal
    from .io import read_points

    budget_list = _budgets(budgets)
    columns = _columns(cols)
    if n_boot < 0 or n_boot == 1:
        raise click.BadParameter("give 0 (no bootstrap) or at least 2 replicates", param_hint="--bootstrap")
    fitter = Fitter(loss=loss, delta=delta, top_k=top_k, seed=seed, random_starts=random_starts)
    _check_outputs(file, out, plot_path)
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
    boot = None
    if n_boot:
        from .fitting.bootstrap import bootstrap

        boot = bootstrap(result, n_boot, seed=seed, n_jobs=n_jobs, progress=False if quiet else None)
        click.echo()
        click.echo(boot.summary())
    if set(result.law.inputs) == {"N", "D"}:
        C = 6.0 * result.inputs["N"] * result.inputs["D"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalingLawsWarning)  # the table says which budgets have no optimum
            budgets_used = budget_list or _default_budgets(C)
            alloc = compute_optimal(result, budgets_used) if boot is None else boot.compute_optimal(budgets_used)
        _print_allocation(alloc, float(np.max(C)))
    if out:
        result.to_json(out)
        click.echo(f"\nWrote {out}")
    if plot_path:
        from .plot import plot_fit

        _save_plot(plot_path, lambda: plot_fit(result))


def _print_allocation(alloc, c_max: float) -> None:
    """The allocation table; with bootstrap columns, each value followed by its 90% interval."""
    banded = "N_opt_lower" in alloc
    click.echo()
    click.echo(f"Compute-optimal allocation (C = 6·N·D; data reach C = {c_max:.3g} FLOPs"
               + ("; [90% bootstrap interval]):" if banded else "):"))

    def cell(row, name, fmt) -> str:
        text = fmt(getattr(row, name))
        if banded:
            text += f" [{fmt(getattr(row, name + '_lower'))}, {fmt(getattr(row, name + '_upper'))}]"
        return text

    wide = 24 if banded else 8
    click.echo(f"  {'C (FLOPs)':>10}  {'N_opt':>{wide}}  {'D_opt':>{wide}}  {'tokens/param':>{wide + 4}}  "
               f"{'loss':>{wide}}  beyond data")
    for row in alloc.itertuples():
        factor = row.C / c_max
        beyond = f"x{factor:.3g}" if factor > 1.0001 else "-"
        if np.isnan(row.N_opt):
            click.echo(f"  {row.C:>10.3g}  no interior optimum: the law keeps improving toward an extreme N")
            continue
        click.echo(f"  {row.C:>10.3g}  {cell(row, 'N_opt', format_number):>{wide}}  "
                   f"{cell(row, 'D_opt', format_number):>{wide}}  "
                   f"{cell(row, 'tokens_per_param', lambda v: f'{v:.4g}'):>{wide + 4}}  "
                   f"{cell(row, 'loss', lambda v: f'{v:.4f}'):>{wide}}  {beyond}")


@cli.command("compare")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--laws", "law_names", default="chinchilla,kaplan,farseer", show_default=True,
              help="Comma-separated laws to compare.")
@click.option("--by", type=click.Choice(["N", "D", "C"]), default="C", show_default=True,
              help="Scale to split on: fit below, predict above.")
@click.option("--holdout", type=int, default=1, show_default=True,
              help="Hold out the runs at this many largest values of --by.")
@click.option("--cutoff", help="Hold out the runs with --by at or above this value instead (e.g. 1e20).")
@click.option("--bootstrap", "n_boot", type=int, default=100, show_default=True,
              help="Bootstrap replicates for the bands of the held-out runs (0: no bands).")
@click.option("--level", type=float, default=0.9, show_default=True, help="Level of the bands.")
@click.option("--col", "cols", multiple=True, metavar="NAME=COLUMN", help="Use COLUMN as canonical column NAME.")
@click.option("--plot", "plot_path", type=click.Path(path_type=str), help="Save a figure (.png, .svg, .pdf).")
@click.option("--out", type=click.Path(path_type=str), help="Write the table as CSV here.")
@click.option("--n-jobs", type=int, default=1, show_default=True, help="Worker processes (-1: all cores).")
@click.option("--scheduler", help="Run on the Dask cluster at this address (needs scalinglaws[dask]).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def compare_command(file, law_names, by, holdout, cutoff, n_boot, level, cols, plot_path, out, n_jobs, scheduler,
                    seed, quiet):
    """Backtest several laws on FILE: fit each on the runs below a scale, predict the runs above.

    Ranks the laws by held-out error and prints in-range and held-out errors, the share of held-out runs
    inside the bootstrap band, and AIC/BIC on the training runs.
    """
    from .fitting.compare import compare_laws
    from .io import atomic_write, read_points
    from .laws import get_law

    names = [n.strip() for n in law_names.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("give at least one law", param_hint="--laws")
    laws = [get_law(n) for n in names]
    if n_boot < 0 or holdout < 1 or not 0 < level < 1:
        raise click.BadParameter("--bootstrap must be >= 0, --holdout >= 1 and --level in (0, 1)")
    cut = _number(cutoff, "--cutoff") if cutoff else None
    _check_outputs(file, out, plot_path)
    needed = sorted({k for law in laws for k in law.inputs if k in POINT_INPUTS} | {by})
    table = read_points(file, columns=_columns(cols), require=needed)
    result = compare_laws(laws, table, by=by, cutoff=cut, holdout=holdout, bootstrap=n_boot, level=level,
                          seed=seed, n_jobs=n_jobs, scheduler=scheduler, progress=False if quiet else None)
    first = result.iloc[0]
    click.echo(f"Backtest on {file}: fit on {first.n_train} runs below the held-out {by}, predict the "
               f"{first.n_test} runs above" + (f"; {100 * level:g}% bands from {n_boot} bootstrap replicates"
                                               if n_boot else ""))
    click.echo(f"  {'law':<18} {'converged':>9} {'in-range':>9} {'held-out':>9} {'max':>7} {'in band':>8} "
               f"{'AIC':>10} {'dAIC':>7} {'BIC':>10} {'dBIC':>7}")
    for row in result.itertuples():
        band = "-" if np.isnan(row.band_coverage) else f"{100 * row.band_coverage:.0f}%"
        click.echo(f"  {row.law:<18} {'yes' if row.converged else 'NO':>9} {100 * row.in_range_error:>8.2f}% "
                   f"{100 * row.heldout_error:>8.2f}% {100 * row.heldout_max_error:>6.2f}% {band:>8} "
                   f"{row.aic:>10.1f} {row.delta_aic:>7.1f} {row.bic:>10.1f} {row.delta_bic:>7.1f}")
    click.echo("Errors: mean |predicted/observed - 1| over the fitted (in-range) and held-out runs; AIC/BIC on the "
               "fitted runs.")
    if out:
        with atomic_write(out) as handle:
            result.drop(columns=["fit", "heldout"]).to_csv(handle, index=False)
        click.echo(f"Wrote {out}")
    if plot_path:
        from .plot import plot_backtest

        _save_plot(plot_path, lambda: plot_backtest(result))


def _save_plot(path: str, make) -> None:
    """Draw a figure with ``make()`` on the non-interactive backend and save it atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import save_figure

    fig = make()
    save_figure(fig, path)
    plt.close(fig)
    click.echo(f"Wrote {path}")


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
