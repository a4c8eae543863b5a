"""The ``scalinglaws`` command line: a thin layer over the Python API.

Every error a user can cause prints one line, ``scalinglaws: error: <file, line, column: what; what to do>``,
on standard error and exits with code 2.
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from typing import TYPE_CHECKING

import click
import numpy as np

from . import __version__
from .exceptions import InputError, ScalingLawsError, ScalingLawsWarning
from .schema import POINT_INPUTS, format_number, parse_number

if TYPE_CHECKING:
    import pandas as pd

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


def _bootstrap_options(command):
    """The --n-jobs, --seed and --quiet options of commands that bootstrap."""
    command = click.option("--quiet", is_flag=True, help="No progress bar.")(command)
    command = click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")(command)
    return click.option("--n-jobs", type=int, default=1, show_default=True,
                        help="Worker processes for the bootstrap (-1: all cores).")(command)


def _log_options(command):
    """Options of commands that also read training logs (folders, W&B/TensorBoard/HF/... files)."""
    options = [
        click.option("--runs", "runs_file", type=click.Path(dir_okay=False, path_type=str),
                     help="Logs: a runs table (run, N, batch_size, seq_len, ...); a runs.csv in the folder is "
                          "read too."),
        click.option("--how", type=click.Choice(["final", "ema", "best"]), default="final", show_default=True,
                     help="Logs: each run's point is its final, smoothed final (EMA of the last 10 values) or "
                          "best loss."),
        click.option("--metric", type=click.Choice(["auto", "eval", "train"]), default="auto", show_default=True,
                     help="Logs: the loss a point takes (auto: evaluation loss when logged, else training loss)."),
        click.option("--regex", help="Logs: a pattern for other text logs, with named groups step and loss "
                                     "(and eval_loss, lr, tokens)."),
        click.option("--key", "keys", multiple=True, metavar="ROLE=NAME",
                     help="Logs: the logged metric for a role (loss, eval_loss, lr, tokens). Repeatable."),
        click.option("--n-count", type=click.Choice(["non-embedding", "total"]), default="non-embedding",
                     show_default=True, help="Logs: N counted from a model config.json without or with embeddings."),
        click.option("--skip-bad-lines", is_flag=True,
                     help="Logs: skip (and count) malformed or cut-off lines instead of stopping."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _keys(pairs: tuple[str, ...]) -> dict[str, str] | None:
    from .io.names import ROLES

    keys = dict(_pairs(pairs, "--key", "loss=train/loss"))
    for role in keys:
        if role not in ROLES:
            raise click.BadParameter(f"{role!r} is not one of {', '.join(ROLES)}", param_hint="--key")
    return keys or None


def _ingest(paths, runs_file, regex, keys, n_count, skip_bad_lines):
    from .io import ingest

    return ingest(paths, runs=runs_file, regex=regex, keys=_keys(keys), skip_bad_lines=skip_bad_lines,
                  params=n_count.replace("-", "_"))


def _is_log(path: str) -> bool:
    """A folder, a log of a known tool, or a table of steps (not one row per run) is read as logs."""
    from pathlib import Path

    from .io.detect import detect_file
    from .io.names import step_key
    from .schema import POINTS_ALIASES, normalize as _normalize

    file = Path(path)
    if file.is_dir():
        return True
    if not file.is_file():
        return False
    kind = detect_file(file)
    if kind != "table":
        return kind is not None
    from .io import read_table

    frame = read_table(file, header_only=True)[0]  # the columns decide; the file is read once, later
    names = {_normalize(c) for c in frame.columns}
    per_run = "n" in names or any(a in names for a in POINTS_ALIASES["N"])
    sized = any(a in names for a in POINTS_ALIASES["D"] + POINTS_ALIASES["C"])
    return step_key(frame.columns) is not None and not (per_run and sized)


def _read_input(file, columns, require, logs) -> "pd.DataFrame":
    """The points table of FILE: read as a table of runs, or ingested from training logs."""
    from .io import read_points
    from .schema import points_table

    if not _is_log(file):
        return read_points(file, columns=columns, require=require)
    runs_file, how, metric, regex, keys, n_count, skip_bad_lines = logs
    ingested = _ingest([file], runs_file, regex, keys, n_count, skip_bad_lines)
    _say(ingested.summary())
    points = ingested.points(how=how, metric=metric)
    _say(f"Points: the {how} {'evaluation loss when logged, else training' if metric == 'auto' else metric} "
         f"loss of each run\n")
    table = points_table(points, columns=columns, require=require)
    table.attrs["source"] = file
    return table


FORMATS = ("table", "json", "csv", "markdown")


def _format_option(command):
    """The --format option: the readable report (table), or the results as JSON, CSV or markdown on standard
    output, with the readable report moved to standard error."""
    def remember(ctx, _param, value):
        ctx.meta["format"] = value
        return value

    return click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
                        show_default=True, expose_value=False, callback=remember, is_eager=True,
                        help="table: the readable report; json, csv or markdown: the result tables on standard "
                             "output (the report goes to standard error).")(command)


def _output_format() -> str:
    """The --format of the running command ("table" outside a command)."""
    ctx = click.get_current_context(silent=True)
    return "table" if ctx is None else ctx.find_root().meta.get("format", "table")


def _say(text: str = "") -> None:
    """A line of the readable report: on standard output, or standard error when --format asks for data."""
    click.echo(text, err=_output_format() != "table")


def _emit(tables: dict) -> None:
    """With --format json/csv/markdown, print the named result tables (DataFrames) on standard output."""
    fmt = _output_format()
    if fmt == "table":
        return
    tables = {name: frame for name, frame in tables.items() if frame is not None}
    click.echo(render_tables(tables, fmt), nl=False)


def render_tables(tables: dict, fmt: str) -> str:
    """Named DataFrames as one JSON object of record lists, CSV sections (``# name`` before each when there
    are several) or markdown sections. Non-finite numbers are null in JSON and empty in CSV."""
    import json

    from .io.tables import is_missing, markdown_table

    def plain(value):
        if is_missing(value):
            return None
        if isinstance(value, (np.floating, float)):
            return float(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.bool_):
            return bool(value)
        return value if isinstance(value, (str, int, bool)) else str(value)

    if fmt == "json":
        data = {name: [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
                for name, frame in tables.items()}
        return json.dumps(data, indent=2, allow_nan=False) + "\n"
    parts = []
    for name, frame in tables.items():
        if fmt == "csv":
            text = frame.to_csv(index=False, lineterminator="\n")
            parts.append((f"# {name}\n" if len(tables) > 1 else "") + text)
        else:
            parts.append(f"### {name}\n\n{markdown_table(frame, '.6g', na='')}\n")
    return "\n".join(parts)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="scalinglaws", message="%(prog)s %(version)s")
def cli():
    """Fit scaling laws to training runs and forecast bigger runs."""


@cli.command("fit")
@_format_option
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
@click.option("--schedule", "schedule_specs", multiple=True, metavar="[RUN=]SPEC",
              help="Curve laws: the exact schedule of a run, e.g. run1=wsd:steps=20000,peak=1e-3,cooldown=0.2 "
                   "(runs without one are rebuilt from the logged lr). Repeatable.")
@click.option("--recipe", type=click.Choice(["converged", "luo2025"]), default="converged", show_default=True,
              help="Curve laws: fit to the minimum of the objective, or (multi-power) the authors' early-stopped "
                   "AdamW recipe, which reproduces their published coefficients (uses its own loss settings).")
@click.option("--bootstrap", "n_boot", type=int, default=0, show_default=True,
              help="Bootstrap replicates (resampling runs) for 90% intervals of the parameters and allocation.")
@click.option("--n-jobs", type=int, default=1, show_default=True, help="Worker processes for the bootstrap.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_log_options
def fit_command(file, law_name, fix, tie, bound, grids, log_params, out, plot_path, cols, loss, delta, top_k, seed,
                random_starts, budgets, schedule_specs, recipe, n_boot, n_jobs, quiet, runs_file, how, metric, regex,
                keys, n_count, skip_bad_lines):
    """Fit a law to the runs in FILE: a table of runs (CSV, TSV, JSONL, JSON or Parquet; one row per run), or
    training logs (a folder, or a log file of W&B, TensorBoard, Hugging Face, Lightning, MLflow, nanoGPT,
    Megatron, ...), whose runs become points (see 'scalinglaws ingest').

    Prints the parameters with standard errors, the fit quality, any warnings, and (for laws of N and D)
    the compute-optimal allocation at a few budgets. Rows with a true 'exclude' column (and diverged runs of
    logs) are left out and counted. The law's inputs (N, D, C, U, N_avg or S_min) and loss are needed.
    """
    from .fitting import Fitter
    from .forecasting import compute_optimal

    budget_list = _budgets(budgets)
    columns = _columns(cols)
    if n_boot < 0 or n_boot == 1:
        raise click.BadParameter("give 0 (no bootstrap) or at least 2 replicates", param_hint="--bootstrap")
    fitter = Fitter(loss=loss, delta=delta, top_k=top_k, seed=seed, random_starts=random_starts)
    _check_outputs(file, out, plot_path)
    law = _law(law_name, fix, tie, bound, grids, log_params)
    from .laws.curves import CurveLaw

    if isinstance(law, CurveLaw):
        logs = (runs_file, metric, regex, keys, n_count, skip_bad_lines)
        result, quality = _fit_curves(file, law, columns, schedule_specs, fitter, logs, recipe)
        _write_fit_outputs(result, out, plot_path)
        _emit({"parameters": result.parameter_table(), "quality": _quality(result), "runs": quality})
        return
    if schedule_specs:
        raise click.BadParameter("schedules are for loss-curve laws (multi-power, lr-annealing)",
                                 param_hint="--schedule")
    if recipe != "converged":
        raise click.BadParameter(f"the {recipe} recipe is for the multi-power law", param_hint="--recipe")
    table = _read_input(file, columns, [k for k in law.inputs if k in POINT_INPUTS],
                        (runs_file, how, metric, regex, keys, n_count, skip_bad_lines))
    renamed = ", ".join(f"{k} <- {v}" for k, v in table.attrs.get("columns", {}).items() if k != v)
    excluded = int(table["exclude"].sum()) if "exclude" in table else 0
    blank = table.attrs.get("blank_rows", 0)
    why = ""
    if excluded and "reason" in table:  # diverged runs of ingested logs
        why = f"{excluded} runs excluded ({'; '.join(f'{r.run}: {r.reason}' for r in table[table['exclude']].itertuples())})"
    elif excluded:
        why = f"{excluded} rows excluded by column '{table.attrs['columns']['exclude']}'"
    notes = [f"columns {renamed}" if renamed else "", why,
             f"{blank} blank lines ignored" if blank else ""]
    _say(f"Read {file}: {len(table)} rows" + "".join(f"; {n}" for n in notes if n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # the summary prints them
        result = fitter.fit(law, table)
    _say()
    _say(result.summary())
    boot = None
    if n_boot:
        from .fitting.bootstrap import bootstrap

        boot = bootstrap(result, n_boot, seed=seed, n_jobs=n_jobs, progress=False if quiet else None)
        _say()
        _say(boot.summary())
    alloc = None
    if set(result.law.inputs) == {"N", "D"}:
        C = 6.0 * result.inputs["N"] * result.inputs["D"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalingLawsWarning)  # the table says which budgets have no optimum
            budgets_used = budget_list or _default_budgets(C)
            alloc = compute_optimal(result, budgets_used) if boot is None else boot.compute_optimal(budgets_used)
        _print_allocation(alloc, float(np.max(C)))
    _write_fit_outputs(result, out, plot_path)
    _emit({"parameters": result.parameter_table(), "quality": _quality(result),
           "intervals": boot.ci(0.9) if boot is not None else None, "allocation": alloc})


def _quality(result) -> "pd.DataFrame":
    """One row: how the fit went (convergence, objective, agreeing starts, residuals, AIC/BIC, warnings)."""
    import pandas as pd

    return pd.DataFrame([{"law": result.law.name, "points": result.n_points, "excluded": result.n_excluded,
                          "converged": bool(result.converged), "message": result.message,
                          "objective": result.objective, "agreeing_starts": result.n_agreeing_starts,
                          "rmse_log": result.rmse, "r2": result.r2, "aic": result.aic, "bic": result.bic,
                          "warnings": "; ".join(result.warnings)}])


def _write_fit_outputs(result, out: str | None, plot_path: str | None) -> None:
    if out:
        result.to_json(out)
        _say(f"\nWrote {out}")
    if plot_path:
        from .plot import plot_fit

        _save_plot(plot_path, lambda: plot_fit(result))


def _read_curves_input(file: str, columns, logs):
    """The curves table of FILE: a plain table of steps, or ingested from training logs (the loss column is
    the training loss, or the evaluation loss with --metric eval or when no training loss was logged)."""
    from pathlib import Path

    from .io import read_curves
    from .io.detect import detect_file

    if not (Path(file).is_dir() or (Path(file).is_file() and detect_file(Path(file)) not in (None, "table"))):
        return read_curves(file, columns=columns)
    runs_file, metric, regex, keys, n_count, skip_bad_lines = logs
    ingested = _ingest([file], runs_file, regex, keys, n_count, skip_bad_lines)
    _say(ingested.summary())
    curves = ingested.curves
    use_eval = metric == "eval" or (metric == "auto" and curves["loss"].isna().all())
    return curves.assign(loss=curves["eval_loss"] if use_eval else curves["loss"]).drop(columns="eval_loss")


def _fit_curves(file: str, law, columns, schedule_specs, fitter, logs, recipe: str = "converged"):
    """``fit`` for loss-curve laws: read the curves, get every run's schedule, fit, print per-run quality."""
    from dataclasses import asdict

    from .fitting.curves import curve_quality, fit_curves

    table = _read_curves_input(file, columns, logs)
    runs = list(dict.fromkeys(table["run"]))
    schedules = {}
    for spec in schedule_specs:
        run, sep, text = spec.partition("=")
        if not sep or ":" in run:  # a bare spec: the file's only run
            if len(runs) != 1:
                raise click.BadParameter(f"{spec!r}: name the run (RUN=SPEC); the file has {len(runs)} runs",
                                         param_hint="--schedule")
            run, text = runs[0], spec
        if run not in runs:
            raise click.BadParameter(f"no run {run!r} in {file}; runs: {', '.join(map(str, runs))}",
                                     param_hint="--schedule")
        schedules[run] = text
    if recipe == "converged":
        settings = {**asdict(fitter), "polish": "trf"}
    elif (fitter.loss, fitter.delta) != ("huber", 1e-3):
        raise click.BadParameter(f"the {recipe} recipe fits with its own loss (huber, delta 1e-3); leave out "
                                 "--loss and --delta", param_hint="--recipe")
    else:
        settings = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # the summary prints them
        try:
            result = fit_curves(table, law, schedules=schedules, recipe=recipe, **settings)
        except InputError as err:  # the table was read above: name its file
            raise err.in_file(file) from None
    _say(f"Read {file}: {len(runs)} runs, {len(table)} rows; {result.n_points} points fitted, "
         f"{result.n_excluded} left out (warmup or no loss)")
    for run, how in result.settings["schedules"].items():
        _say(f"  schedule of {run}: {how}")
    _say()
    _say(result.summary())
    _say()
    _say(f"  {'run':<32} {'points':>6} {'R^2':>8} {'MAE':>8} {'final error':>12}")
    quality = curve_quality(result)
    for row in quality.itertuples():
        _say(f"  {str(row.run):<32} {row.points:>6} {row.r2:>8.5f} {row.mae:>8.4f} {row.final_error:>+12.4f}")
    return result, quality


def _print_allocation(alloc, c_max: float) -> None:
    """The allocation table; with bootstrap columns, each value followed by its 90% interval."""
    banded = "N_opt_lower" in alloc
    _say()
    _say(f"Compute-optimal allocation (C = 6·N·D; data reach C = {c_max:.3g} FLOPs"
         + ("; [90% bootstrap interval]):" if banded else "):"))

    def cell(row, name, fmt) -> str:
        text = fmt(getattr(row, name))
        if banded:
            text += f" [{fmt(getattr(row, name + '_lower'))}, {fmt(getattr(row, name + '_upper'))}]"
        return text

    wide = 24 if banded else 8
    _say(f"  {'C (FLOPs)':>10}  {'N_opt':>{wide}}  {'D_opt':>{wide}}  {'tokens/param':>{wide + 4}}  "
         f"{'loss':>{wide}}  beyond data")
    for row in alloc.itertuples():
        factor = row.C / c_max
        beyond = f"x{factor:.3g}" if factor > 1.0001 else "-"
        if np.isnan(row.N_opt):
            _say(f"  {row.C:>10.3g}  no interior optimum: the law keeps improving toward an extreme N")
            continue
        _say(f"  {row.C:>10.3g}  {cell(row, 'N_opt', format_number):>{wide}}  "
             f"{cell(row, 'D_opt', format_number):>{wide}}  "
             f"{cell(row, 'tokens_per_param', lambda v: f'{v:.4g}'):>{wide + 4}}  "
             f"{cell(row, 'loss', lambda v: f'{v:.4f}'):>{wide}}  {beyond}")


@cli.command("compare")
@_format_option
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
    from .io import read_points
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
    _say(f"Backtest on {file}: fit on {first.n_train} runs below the held-out {by}, predict the "
         f"{first.n_test} runs above" + (f"; {100 * level:g}% bands from {n_boot} bootstrap replicates"
                                         if n_boot else ""))
    _say(f"  {'law':<18} {'converged':>9} {'in-range':>9} {'held-out':>9} {'max':>7} {'in band':>8} "
         f"{'AIC':>10} {'dAIC':>7} {'BIC':>10} {'dBIC':>7}")
    for row in result.itertuples():
        band = "-" if np.isnan(row.band_coverage) else f"{100 * row.band_coverage:.0f}%"
        _say(f"  {row.law:<18} {'yes' if row.converged else 'NO':>9} {100 * row.in_range_error:>8.2f}% "
             f"{100 * row.heldout_error:>8.2f}% {100 * row.heldout_max_error:>6.2f}% {band:>8} "
             f"{row.aic:>10.1f} {row.delta_aic:>7.1f} {row.bic:>10.1f} {row.delta_bic:>7.1f}")
    _say("Errors: mean |predicted/observed - 1| over the fitted (in-range) and held-out runs; AIC/BIC on the "
         "fitted runs.")
    from .plot import plot_backtest

    _write_outputs(result.drop(columns=["fit", "heldout"]), out, plot_path, lambda: plot_backtest(result))
    _emit({"backtest": result.drop(columns=["fit", "heldout"])})


def _write_outputs(table, out: str | None, plot_path: str | None, make_figure) -> None:
    """Write ``table`` as CSV to ``out`` and the figure ``make_figure()`` to ``plot_path``, each if asked."""
    from .io import atomic_write

    if out:
        with atomic_write(out) as handle:
            table.to_csv(handle, index=False)
        _say(f"Wrote {out}")
    if plot_path:
        _save_plot(plot_path, make_figure)


def _save_plot(path: str, make) -> None:
    """Draw a figure with ``make()`` on the non-interactive backend and save it atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import save_figure

    fig = make()
    save_figure(fig, path)
    plt.close(fig)
    _say(f"Wrote {path}")


def _numbers(text: str | None, option: str) -> list[float] | None:
    """A comma-separated list of positive numbers (suffixes allowed), or None."""
    if text is None:
        return None
    values = [_number(v, option) for v in text.split(",") if v.strip()]
    if not values or any(not (v > 0 and math.isfinite(v)) for v in values):
        raise click.BadParameter(f"{text!r}: give positive numbers like 7e9,70B", param_hint=option)
    return values


def _bootstrap_of(fit, n_boot: int, seed: int, n_jobs: int, quiet: bool):
    if n_boot == 0:
        return None
    if n_boot < 2:
        raise click.BadParameter("give 0 (no bands) or at least 2 replicates", param_hint="--bootstrap")
    from .fitting.bootstrap import bootstrap

    return bootstrap(fit, n_boot, seed=seed, n_jobs=n_jobs, progress=False if quiet else None)


def _band(row, name: str, fmt) -> str:
    """A value with its interval (columns NAME_lower/NAME_upper, or lower/upper for a forecast's loss)."""
    text = fmt(getattr(row, name))
    for lo, hi in ((f"{name}_lower", f"{name}_upper"), ("lower", "upper")):
        lower = getattr(row, lo, None)
        if lower is not None:
            if np.isfinite(lower):
                text += f" [{fmt(lower)}, {fmt(getattr(row, hi))}]"
            break
    return text


@cli.command("forecast")
@_format_option
@click.argument("fit_file", type=click.Path(dir_okay=False, path_type=str), metavar="FIT.json")
@click.option("--params", "params_", help="Model sizes N (comma-separated, e.g. 7e9,70B).")
@click.option("--tokens", help="Training tokens D (comma-separated).")
@click.option("--compute", help="Compute budgets C in FLOPs: alone, the compute-optimal split; with --params, D = C/(6N).")
@click.option("--input", "inputs", multiple=True, metavar="NAME=V1,V2", help="Any other input of the law. Repeatable.")
@click.option("--schedule", "schedule_spec", metavar="SPEC",
              help="Curve laws: the schedule to predict, e.g. 'wsd:steps=50000,peak=3e-4,cooldown=0.2,warmup=500'.")
@click.option("--observed", type=click.Path(dir_okay=False, path_type=str),
              help="Curve laws: a curves file to draw next to the prediction.")
@click.option("--bootstrap", "n_boot", type=int, default=200, show_default=True,
              help="Bootstrap replicates for the band (0: none).")
@click.option("--level", type=float, default=0.9, show_default=True, help="Level of the band.")
@click.option("--kind", type=click.Choice(["mean", "observation"]), default="mean", show_default=True,
              help="Band of the law, or of a new run's measured loss.")
@click.option("--plot", "plot_path", type=click.Path(path_type=str), help="Save a figure (.png, .svg, .pdf).")
@click.option("--out", type=click.Path(path_type=str), help="Write the table as CSV here.")
@_bootstrap_options
def forecast_command(fit_file, params_, tokens, compute, inputs, schedule_spec, observed, n_boot, level, kind, plot_path,
                     out, n_jobs, seed, quiet):
    """Forecast the loss of new runs from a saved fit (scalinglaws fit --out FIT.json).

    Prints the loss with its bootstrap band and how far each target lies beyond the fitted data.
    """
    from .exceptions import ExtrapolationWarning
    from .fitting.result import FitResult
    from .forecasting import forecast

    _check_outputs(fit_file, out, plot_path)
    if not 0 < level < 1:
        raise click.BadParameter("--level must be between 0 and 1", param_hint="--level")
    fit = FitResult.from_json(fit_file)
    from .laws.curves import CurveLaw

    if isinstance(fit.law, CurveLaw):
        _forecast_curve(fit, fit_file, schedule_spec, observed, params_, n_boot, level, kind, plot_path, out, n_jobs,
                        seed, quiet)
        return
    if schedule_spec or observed:
        raise click.BadParameter("--schedule and --observed are for fits of loss-curve laws")
    values = {k: v for k, v in (("N", _numbers(params_, "--params")), ("D", _numbers(tokens, "--tokens")),
                                ("C", _numbers(compute, "--compute"))) if v is not None}
    for name, text in _pairs(inputs, "--input", "U=3e11"):
        values[name] = _numbers(text, "--input")
    if not values:
        raise click.UsageError("give what to forecast: --params/--tokens, --compute or --input NAME=VALUES")
    lengths = {len(v) for v in values.values()} - {1}
    if len(lengths) > 1:
        raise click.BadParameter("lists of targets must have the same length (or one value)")
    boot = _bootstrap_of(fit, n_boot, seed, n_jobs, quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        table = forecast(boot or fit, level=level, kind=kind, **values)
    law = fit.law
    _say(f"Forecast from {fit_file} ({law.name}: {law.formula})"
         + (f"; {100 * level:g}% {kind} band from {n_boot} bootstrap replicates" if boot else ""))
    header = "  ".join(f"{k:>10}" for k in law.inputs)
    _say(f"  {header}  {'loss (nats/token)':>26}  beyond data")
    for row in table.itertuples():
        cells = "  ".join(f"{format_number(getattr(row, k)):>10}" for k in law.inputs)
        beyond = "-" if row.beyond <= 1.0001 else f"x{row.beyond:.3g}"
        _say(f"  {cells}  {_band(row, 'loss', lambda v: f'{v:.4f}'):>26}  {beyond}")
    for w in caught:
        _say(f"Warning: {w.message}")
    from .plot import plot_fit

    _write_outputs(table, out, plot_path, lambda: plot_fit(boot or fit, level=level, forecast=table))
    _emit({"forecast": table})


def _forecast_curve(fit, fit_file, spec, observed, params_, n_boot, level, kind, plot_path, out, n_jobs, seed, quiet):
    """``forecast`` for loss-curve laws: the predicted curve along a schedule, with a band."""
    from .forecasting.curves import predict_curve
    from .io import read_curves
    from .schedules import parse_schedule

    if not spec:
        raise click.UsageError("a loss-curve fit forecasts a schedule: give --schedule 'wsd:steps=...,peak=...'")
    schedule = parse_schedule(spec)
    size = _numbers(params_, "--params")
    extra = {"N": size[0]} if size else {}
    boot = None
    if n_boot:
        if n_boot < 2:
            raise click.BadParameter("give 0 (no bands) or at least 2 replicates", param_hint="--bootstrap")
        from .fitting.bootstrap import bootstrap

        method = "runs" if len(set(fit.runs)) >= 3 else "residuals"
        boot = bootstrap(fit, n_boot, method=method, seed=seed, n_jobs=n_jobs, progress=False if quiet else None)
    table = predict_curve(boot or fit, schedule, level=level, kind=kind, **extra)
    _say(f"Forecast from {fit_file} ({fit.law.name}) along {spec}"
         + (f"; {100 * level:g}% {kind} band from {n_boot} bootstrap replicates ({boot.method} resampled)"
            if boot else ""))
    shown = table.iloc[np.unique(np.linspace(0, len(table) - 1, 11).round().astype(int))]
    _say(f"  {'step':>8} {'lr':>10} {'loss (nats/token)':>28}")
    for row in shown.itertuples():
        _say(f"  {row.step:>8} {row.lr:>10.3g} {_band(row, 'loss', lambda v: f'{v:.4f}'):>28}")
    if boot is not None and boot.method == "residuals":
        _say("Note: with fewer than 3 fitted runs the band resamples residuals as if independent; steps of one "
             "curve are correlated, so the band is too narrow. Fit more runs for a run bootstrap.")
    curves = read_curves(observed) if observed else None
    from .plot import plot_curve_forecast

    _write_outputs(table, out, plot_path, lambda: plot_curve_forecast(table, observed=curves, title=spec))
    _emit({"forecast": table})


@cli.command("plan")
@_format_option
@click.argument("fit_file", type=click.Path(dir_okay=False, path_type=str), metavar="FIT.json")
@click.option("--budget", required=True, help="Compute budgets in FLOPs (comma-separated), e.g. 1e23,1e24.")
@click.option("--inference-tokens", help="Tokens the model will generate over its life (counted at 2 FLOPs per "
              "parameter each, inside the budget).")
@click.option("--unique-tokens", help="Cap on unique training tokens; repeats are discounted (data-constrained law).")
@click.option("--flops", help="Training FLOPs as an expression in N and D (default 6*N*D).")
@click.option("--hparams", type=click.Choice(["steplaw", "steplaw-mean", "deepseek", "none"]), default="steplaw",
              show_default=True, help="Published law for the batch size and learning rate.")
@click.option("--seq-len", type=int, default=2048, show_default=True, help="Sequence length, to give the batch in sequences.")
@click.option("--bootstrap", "n_boot", type=int, default=200, show_default=True,
              help="Bootstrap replicates for the intervals (0: none).")
@click.option("--plot", "plot_path", type=click.Path(path_type=str), help="Save the frontier (.png, .svg, .pdf).")
@click.option("--out", type=click.Path(path_type=str), help="Write the table as CSV here.")
@_bootstrap_options
def plan_command(fit_file, budget, inference_tokens, unique_tokens, flops, hparams, seq_len, n_boot, plot_path, out,
                 n_jobs, seed, quiet):
    """Plan training runs from a saved fit: the compute-optimal N and D for each budget, the loss to
    expect (90% interval), and a batch size and learning rate from a published hyperparameter law."""
    from .fitting.result import FitResult
    from .forecasting import PRESETS, compute_optimal

    _check_outputs(fit_file, out, plot_path)
    budgets = _numbers(budget, "--budget")
    inference = (_numbers(inference_tokens, "--inference-tokens") or [0.0])[0]
    unique = (_numbers(unique_tokens, "--unique-tokens") or [None])[0]
    if seq_len < 1:
        raise click.BadParameter("must be a positive number of tokens", param_hint="--seq-len")
    fit = FitResult.from_json(fit_file)
    options = {"inference_tokens": inference, "unique_tokens": unique, "flops": flops}
    boot = _bootstrap_of(fit, n_boot, seed, n_jobs, quiet)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)  # the table says which budgets have no optimum
        table = (boot.compute_optimal(budgets, **options) if boot else compute_optimal(fit, budgets, **options))
    preset = PRESETS.get(hparams)
    if preset is not None:
        C_train = table["train_flops"] if "train_flops" in table else table["C"]
        variables = {"N": table["N_opt"], "D": table["D_opt"], "C": C_train}
        table["batch_tokens"] = preset.batch_size(**{k: variables[k] for k in preset.batch[1]})
        table["batch_seqs"] = table["batch_tokens"] / seq_len
        table["lr"] = preset.learning_rate(**{k: variables[k] for k in preset.lr[1]})
    c_max = float(np.max(6.0 * fit.inputs["N"] * fit.inputs["D"])) if "N" in fit.inputs and "D" in fit.inputs else np.nan
    notes = [f"inference {format_number(inference)} tokens" if inference else "",
             f"unique tokens capped at {format_number(unique)}" if unique else "", f"FLOPs {flops}" if flops else ""]
    _say(f"Plan from {fit_file} ({fit.law.name})" + "".join(f"; {n}" for n in notes if n)
         + (f"; [90% bootstrap interval of {n_boot}]" if boot else ""))
    fmt_n, fmt_l = format_number, (lambda v: f"{v:.4f}")
    for row in table.itertuples():
        beyond = f" (x{row.C / c_max:.3g} the largest fitted compute)" if row.C > c_max * 1.0001 else ""
        _say(f"C = {row.C:.3g} FLOPs{beyond}")
        if np.isnan(row.N_opt):
            _say("  no interior optimum: the law keeps improving toward an extreme model size")
            continue
        _say(f"  parameters N      {_band(row, 'N_opt', fmt_n)}")
        _say(f"  tokens D          {_band(row, 'D_opt', fmt_n)}" +
             (f"  ({row.epochs:.3g} epochs of the unique tokens)" if unique else ""))
        _say(f"  tokens/parameter  {_band(row, 'tokens_per_param', lambda v: f'{v:.4g}')}")
        _say(f"  loss              {_band(row, 'loss', fmt_l)}")
        if inference:
            _say(f"  FLOPs: training {row.train_flops:.3g}, inference {row.inference_flops:.3g}")
        if preset is not None:
            _say(f"  batch size        {format_number(row.batch_tokens)} tokens ({row.batch_seqs:.4g} sequences "
                 f"of {seq_len}); learning rate {row.lr:.3g}  [{preset.name}]")
    if preset is not None:
        _say(f"Batch size and learning rate: {preset.describe()}; its N counts non-embedding parameters.")
    from .plot import plot_frontier

    _write_outputs(table, out, plot_path, lambda: plot_frontier(table))
    _emit({"plan": table})


_BATCH_ALIASES = ("batch_size_tokens", "batch_tokens", "batch_size", "bs", "b")
_STEPS_ALIASES = ("steps_to_target", "steps", "s", "step")


@cli.command("batch")
@_format_option
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--by", "group", help="Column naming each sweep (default: 'model' when present, else one sweep).")
@click.option("--batch-col", help="Batch-size column (default: batch_size_tokens, batch_size, bs, B).")
@click.option("--steps-col", help="Steps-to-target column (default: steps_to_target, steps, S).")
@click.option("--level", type=float, default=0.9, show_default=True, help="Level of the intervals.")
@click.option("--plot", "plot_path", type=click.Path(path_type=str), help="Save a figure (.png, .svg, .pdf).")
@click.option("--out", type=click.Path(path_type=str), help="Write the table as CSV here.")
def batch_command(file, group, batch_col, steps_col, level, plot_path, out):
    """Fit the critical batch size to batch-size sweeps in FILE: S = S_min + E_min/B per sweep
    (McCandlish et al. 2018), B_crit = E_min/S_min with an interval, and how B_crit scales."""
    import pandas as pd

    from .forecasting import fit_batch_sweep, fit_power_law
    from .io import read_table

    _check_outputs(file, out, plot_path)
    if not 0 < level < 1:
        raise click.BadParameter("--level must be between 0 and 1", param_hint="--level")
    frame, _ = read_table(file)
    lower = {str(c).lower(): c for c in frame.columns}

    def column(given, aliases, what):
        if given is not None:
            if given not in frame.columns:
                raise click.BadParameter(f"{file}: no column {given!r}; columns: {', '.join(map(str, frame.columns))}")
            return given
        for alias in aliases:
            if alias in lower:
                return lower[alias]
        raise click.UsageError(f"{file}: no {what} column (looked for {', '.join(aliases)}); name it with "
                               f"--{'batch' if what == 'batch-size' else 'steps'}-col")

    b_col = column(batch_col, _BATCH_ALIASES, "batch-size")
    s_col = column(steps_col, _STEPS_ALIASES, "steps")
    if group is not None and group not in frame.columns:
        raise click.BadParameter(f"{file}: no column {group!r}", param_hint="--by")
    group = group or ("model" if "model" in frame.columns else None)
    groups = frame.groupby(group, sort=False) if group else [("all", frame)]
    fits, rows = {}, []
    for name, sweep in groups:
        try:
            b = pd.to_numeric(sweep[b_col], errors="raise")
            st = pd.to_numeric(sweep[s_col], errors="raise")
        except (ValueError, TypeError):
            raise click.UsageError(f"{file}: sweep {name!r} has non-numeric batch sizes or steps") from None
        fit = fit_batch_sweep(b.to_numpy(float), st.to_numpy(float), level=level)
        fits[str(name)] = fit
        extra = {c: sweep[c].iloc[0] for c in ("N", "N_nominal", "target_loss") if c in sweep.columns}
        rows.append({"sweep": str(name), **extra, **fit.as_row()})
    table = pd.DataFrame(rows)
    _say(f"Batch-size sweeps in {file}: S(B) = S_min + E_min/B, B_crit = E_min/S_min "
         f"({100 * level:g}% intervals); batch sizes in '{b_col}' units")
    _say(f"  {'sweep':<10} {'runs':>4} {'S_min':>9} {'E_min':>9} {'B_crit':>9} {'interval':>21} {'0.2·B_crit':>10} "
         f"{'rms log':>8}")
    for row in table.itertuples():
        _say(f"  {row.sweep:<10} {row.n:>4} {row.S_min:>9.4g} {format_number(row.E_min):>9} "
             f"{format_number(row.B_crit):>9} [{format_number(row.B_crit_lower):>8}, "
             f"{format_number(row.B_crit_upper):>8}] {format_number(row.B_zhang):>10} {row.rmse_log:>8.3f}")
    if len(table) >= 3:
        for x, what in (("N_nominal", "model size"), ("N", "model size"), ("target_loss", "target loss"),
                        ("E_min", "tokens to the target (data)")):
            if x in table.columns:
                pf = fit_power_law(table["B_crit"], **{x: table[x].astype(float)})
                _say(f"B_crit against {what}: {pf.describe('B_crit')}")
    from .plot import plot_batch

    _write_outputs(table, out, plot_path, lambda: plot_batch(fits))
    _emit({"sweeps": table})


@cli.command("ingest")
@_format_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--out", type=click.Path(path_type=str),
              help="Write the curves (one row per logged step, with each run's N and C) here: .parquet, .csv, "
                   ".tsv or .jsonl.")
@click.option("--points", "points_out", type=click.Path(path_type=str),
              help="Write one point per run here (.csv, .tsv, .jsonl, .parquet), ready for 'scalinglaws fit'.")
@click.option("--runs-out", type=click.Path(path_type=str), help="Write the runs table (metadata, flags) here.")
@click.option("--ema", type=int, default=10, show_default=True, help="Values averaged by --how ema.")
@click.option("--at-tokens", help="Points at these token counts of every run (e.g. 1e9,2e9), not at the end.")
@click.option("--at-flops", help="Points at these compute budgets of every run (FLOPs, e.g. 1e18,3e18).")
@click.option("--diverge-factor", type=float, default=1.25, show_default=True,
              help="A run whose final loss exceeds its best by this factor is flagged as diverged.")
@_log_options
def ingest_command(paths, out, points_out, runs_out, ema, at_tokens, at_flops, diverge_factor, runs_file, how,
                   metric, regex, keys, n_count, skip_bad_lines):
    """Read training logs in PATHS (files or folders; formats detected) into one table.

    Reads W&B panel exports (CSV) and run histories (JSONL), TensorBoard event folders, Hugging Face
    trainer_state.json, Lightning metrics.csv, MLflow run folders, CSV/TSV/JSONL/Parquet tables of steps, and
    nanoGPT, Megatron-LM, GPT-NeoX and torchtitan console logs (or others with --regex). Run metadata (N, batch
    size, sequence length) comes from a runs.csv, the logs, or config files next to them; tokens are step x
    batch size x sequence length when not logged. Prints every run with its flags (diverged, unit problems) and
    everything skipped.
    """
    from .io import check_output_path, write_table
    from .io.ingest import ingest

    for path in (out, points_out, runs_out):
        if path:
            check_output_path(path, inputs=paths)
    at_tok, at_fl = _numbers(at_tokens, "--at-tokens"), _numbers(at_flops, "--at-flops")
    if ema < 1:
        raise click.BadParameter("give at least 1", param_hint="--ema")
    ingested = ingest(list(paths), runs=runs_file, regex=regex, keys=_keys(keys), skip_bad_lines=skip_bad_lines,
                      diverge_factor=diverge_factor, params=n_count.replace("-", "_"))
    _say(ingested.summary())
    if out:
        write_table(ingested.table(), out)
        _say(f"Wrote {out} ({len(ingested.curves)} rows)")
    if runs_out:
        write_table(ingested.runs, runs_out)
        _say(f"Wrote {runs_out} ({len(ingested.runs)} runs)")
    if points_out:
        points = ingested.points(how=how, metric=metric, ema=ema, at_tokens=at_tok, at_flops=at_fl)
        write_table(points, points_out)
        excluded = int(points["exclude"].sum())
        missed = points.attrs.get("not_reached", 0)
        _say(f"Wrote {points_out} ({len(points)} points" + (f", {excluded} marked exclude" if excluded else "")
             + (f"; {missed} token counts not reached by a run" if missed else "") + ")")
    _emit({"runs": ingested.runs, "files": ingested.files, "skipped": ingested.skipped})


@cli.command("isoflop")
@_format_option
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--method", type=click.Choice(["parabola", "interpolate"]), default="parabola", show_default=True,
              help="How each budget's minimum is found.")
@click.option("--window", type=int, default=5, show_default=True,
              help="Runs around the lowest loss used by the parabola (0: all).")
@click.option("--col", "cols", multiple=True, metavar="NAME=COLUMN", help="Use COLUMN as canonical column NAME "
              "(e.g. C=budget_flops).")
@click.option("--plot", "plot_path", type=click.Path(path_type=str), help="Save a figure (.png, .svg, .pdf).")
def isoflop_command(file, method, window, cols, plot_path):
    """IsoFLOP analysis (approach 2) of FILE: each budget's optimal N and D, and N_opt ∝ C^a, D_opt ∝ C^b."""
    from .forecasting import isoflop_analysis
    from .io import read_points

    _check_outputs(file, None, plot_path)
    if window < 0 or window in (1, 2):
        raise click.BadParameter("use 0 (every run) or at least 3 runs", param_hint="--window")
    table = read_points(file, columns=_columns(cols), require=("N", "D", "C"))
    result = isoflop_analysis(table, method=method, window=window or None)
    _say(result.summary())
    if plot_path:
        from .plot import plot_isoflop

        _save_plot(plot_path, lambda: plot_isoflop(result))
    import pandas as pd

    fits = pd.DataFrame([{"quantity": q, "coefficient": f.coefficient, "exponent": f.exponent,
                          "exponent_stderr": f.stderr.get("C", np.nan), "budgets": f.n}
                         for q, f in (("N_opt", result.n_fit), ("D_opt", result.d_fit))])
    _emit({"budgets": result.budgets, "power_laws": fits})


@cli.command("laws")
@_format_option
def laws_command():
    """List the registered laws with their formulas and parameters."""
    from .laws import available_laws, get_law

    import pandas as pd

    rows = []
    for name in available_laws():
        law = get_law(name)
        _say(law.describe())
        _say()
        rows.append({"name": law.name, "formula": law.formula, "inputs": ", ".join(law.inputs),
                     "parameters": ", ".join(law.param_names), "reference": law.reference})
    _emit({"laws": pd.DataFrame(rows)})


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
