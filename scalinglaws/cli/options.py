"""Option types and option groups shared by the commands: every value is validated once, here, and every choice
comes from the library's own constants."""

from __future__ import annotations

import math

import click

from ..schema import parse_number

__all__ = ["NumberList", "NumberListAny", "Number", "Level", "Count", "KeyValue", "Bounds", "Replicates", "LAW",
           "law_options", "fitter_options", "log_options", "bootstrap_options", "format_option", "plot_option",
           "columns_option", "band_option", "BANDS"]


class Number(click.ParamType):
    """A number as a human writes it (``7e9``, ``70B``, ``1.4T``), optionally positive and finite."""

    name = "number"

    def __init__(self, positive: bool = True, integer: bool = False):
        self.positive, self.integer = positive, integer

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = parse_number(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a number (write 7e9, 70B or 1.4T)", param, ctx)
        if not math.isfinite(number) or (self.positive and number <= 0):
            self.fail(f"{value!r} must be a {'positive ' if self.positive else ''}finite number", param, ctx)
        if self.integer:
            if number != int(number):
                self.fail(f"{value!r} must be a whole number", param, ctx)
            return int(number)
        return number


class NumberList(click.ParamType):
    """Comma-separated numbers with suffixes (``1e21,1e23``, ``7e9,70B``): a list of positive finite floats."""

    name = "numbers"

    def __init__(self, example: str = "1e21,1e23"):
        self.example = example

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        parts = [v for v in str(value).split(",") if v.strip()]
        if not parts:
            self.fail(f"give numbers like {self.example}", param, ctx)
        return [Number().convert(v, param, ctx) for v in parts]


class Level(click.ParamType):
    """The level of a band or interval, strictly between 0 and 1."""

    name = "level"

    def convert(self, value, param, ctx):
        try:
            level = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number between 0 and 1 (e.g. 0.9)", param, ctx)
        if not 0 < level < 1:
            self.fail(f"{value!r} must be between 0 and 1 (e.g. 0.9)", param, ctx)
        return level


class Count(click.ParamType):
    """A whole number of at least ``minimum`` (or -1 for 'all cores' where allowed)."""

    name = "integer"

    def __init__(self, minimum: int = 0, all_cores: bool = False):
        self.minimum, self.all_cores = minimum, all_cores

    def convert(self, value, param, ctx):
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if self.all_cores and number == -1:
            return number
        if number < self.minimum:
            extra = " (or -1 for every core)" if self.all_cores else ""
            self.fail(f"{value!r} must be at least {self.minimum}{extra}", param, ctx)
        return number


class Replicates(click.ParamType):
    """A number of bootstrap replicates: 0 (none) or at least 2."""

    name = "replicates"

    def convert(self, value, param, ctx):
        number = Count(0).convert(value, param, ctx)
        if number == 1:
            self.fail("give 0 (no bootstrap) or at least 2 replicates", param, ctx)
        return number


class KeyValue(click.ParamType):
    """``NAME=VALUE`` (e.g. ``beta=alpha``): a (name, value) pair, the value converted by ``value`` if given."""

    name = "name=value"

    def __init__(self, example: str, value: click.ParamType | None = None, separator: str = "=",
                 names: tuple[str, ...] | None = None, form: str = "NAME=VALUE"):
        self.example, self.value, self.separator, self.names, self.form = example, value, separator, names, form

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition(self.separator)
        if not sep or not name.strip() or not text.strip():
            self.fail(f"{value!r} is not {self.form} (e.g. {self.example})", param, ctx)
        if self.names is not None and name.strip() not in self.names:
            self.fail(f"{name.strip()!r} is not one of {', '.join(self.names)}", param, ctx)
        text = text.strip()
        return name.strip(), self.value.convert(text, param, ctx) if self.value else text


class Bounds(click.ParamType):
    """``LO:HI`` with either side empty for no bound (``1.5:2.5``, ``:3``)."""

    name = "lo:hi"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        lo, sep, hi = str(value).partition(":")
        if not sep:
            self.fail(f"{value!r} is not LO:HI (either may be empty)", param, ctx)
        number = Number(positive=False)
        return (number.convert(lo, param, ctx) if lo.strip() else -math.inf,
                number.convert(hi, param, ctx) if hi.strip() else math.inf)


def _options(*options):
    def apply(command):
        for option in reversed(options):
            command = option(command)
        return command
    return apply


#: The --law option: a name from the registry, or an expression such as 'E + A/N**alpha'.
LAW = click.option("--law", "law_name", default="chinchilla", show_default=True,
                   help="Law to fit: a name from 'scalinglaws laws', or an expression like 'E + A/N**alpha'.")


def law_options(command):
    """--law, --fix, --tie, --bound, --grid, --log."""
    return _options(
        LAW,
        click.option("--fix", multiple=True, type=KeyValue("alpha=0.34", Number(positive=False)), metavar="NAME=VALUE",
                     help="Hold a parameter at a value. Repeatable."),
        click.option("--tie", multiple=True, type=KeyValue("beta=alpha"), metavar="NAME=EXPR",
                     help="Define a parameter by others (beta=alpha). Repeatable."),
        click.option("--bound", multiple=True, type=KeyValue("E=1.5:2.5", Bounds()), metavar="NAME=LO:HI",
                     help="Bounds of a parameter (E=1.5:2.5, E=:3). Repeatable."),
        click.option("--grid", "grids", multiple=True, type=KeyValue("alpha=0.2,0.4", NumberListAny()),
                     metavar="NAME=V1,V2,..", help="Start values of a parameter. Repeatable."),
        click.option("--log", "log_params", multiple=True, metavar="NAME",
                     help="Fit a positive parameter on a log scale (for expression laws). Repeatable."),
    )(command)


class NumberListAny(NumberList):
    """Comma-separated numbers of any sign."""

    def convert(self, value, param, ctx):
        parts = [v for v in str(value).split(",") if v.strip()]
        if not parts:
            self.fail("give numbers like 0.2,0.4", param, ctx)
        return [Number(positive=False).convert(v, param, ctx) for v in parts]


def fitter_options(command):
    """--loss, --delta, --top-k, --seed, --random-starts (choices from the fitter's own constants)."""
    from ..fitting.objective import LOSSES

    return _options(
        click.option("--loss", type=click.Choice(LOSSES), default=None,
                     help=f"Robust Huber or least squares, on log-loss residuals (default {LOSSES[0]})."),
        click.option("--delta", type=Number(), default=None, help="Huber threshold on log residuals (default 1e-3)."),
        click.option("--top-k", type=Count(1), default=None, help="Best screened starts to polish (default 8)."),
        click.option("--seed", type=Count(0), default=0, show_default=True,
                     help="Seed for random starts and the bootstrap."),
        click.option("--random-starts", type=Count(0), default=0, show_default=True, help="Extra random starts."),
    )(command)


def log_options(command):
    """Options of commands that also read training logs (folders, W&B/TensorBoard/HF/... files)."""
    from ..io.points import HOWS, METRICS
    from ..schema import METRIC_ROLES

    return _options(
        click.option("--runs", "runs_file", type=click.Path(dir_okay=False, path_type=str),
                     help="Logs: a runs table (run, N, batch_size, seq_len, ...); a runs.csv in the folder is "
                          "read too."),
        click.option("--how", type=click.Choice(HOWS), default="final", show_default=True,
                     help="Logs: each run's point is its final, smoothed final (exponential average) or best loss."),
        click.option("--metric", type=click.Choice(METRICS), default="auto", show_default=True,
                     help="Logs: the loss a point takes (auto: evaluation loss when logged, else training loss)."),
        click.option("--regex", help="Logs: a pattern for other text logs, with named groups step and loss "
                                     "(and eval_loss, lr, tokens)."),
        click.option("--key", "keys", multiple=True, type=KeyValue("loss=train/loss", names=METRIC_ROLES),
                     metavar="ROLE=NAME",
                     help=f"Logs: the logged metric for a role ({', '.join(METRIC_ROLES)}). Repeatable."),
        click.option("--n-count", type=click.Choice(["non-embedding", "total"]), default="non-embedding",
                     show_default=True, help="Logs: N counted from a model config.json without or with embeddings."),
        click.option("--skip-bad-lines", is_flag=True,
                     help="Logs: skip (and count) malformed or cut-off lines instead of stopping."),
        click.option("--ema", type=Number(), default=10, show_default=True,
                     help="Logs: the window of --how ema, in steps (or tokens with --ema-unit tokens): values "
                          "logged within it are averaged, the latest weighted most."),
        click.option("--ema-unit", type=click.Choice(["steps", "tokens"]), default="steps", show_default=True,
                     help="Logs: the unit of --ema."),
        click.option("--strict", is_flag=True,
                     help="Logs: stop at the first log of a folder that cannot be read (by default it is skipped, "
                          "and said)."),
        click.option("--tracking-uri", metavar="URI",
                     help="Logs: an MLflow tracking server (http://host:5000) whose experiments (names or ids) the "
                          "paths name. A path mlflow://host:port/EXPERIMENT names one without this option."),
    )(command)


def bootstrap_options(default: int = 0):
    """--bootstrap, --n-jobs, --quiet."""
    return _options(
        click.option("--bootstrap", "n_boot", type=Replicates(), default=default, show_default=True,
                     help="Bootstrap replicates (resampling runs) for the bands (0: bands from the fit's asymptotic "
                          "covariance, or from replicates stored in the fit file)."),
        click.option("--n-jobs", type=Count(1, all_cores=True), default=1, show_default=True,
                     help="Worker processes for the bootstrap (-1: all cores)."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    )


#: The bands a command can show: ``calibrated`` (noise and model error) or ``noise`` (the narrow band alone).
BANDS = ("calibrated", "noise")


def band_option(command):
    """--band calibrated|noise (passed to the command as ``model_error``, a bool)."""
    return click.option("--band", "model_error", type=click.Choice(BANDS), default="calibrated", show_default=True,
                        callback=lambda ctx, param, value: value == "calibrated",
                        help="calibrated: the noise of the runs and parameters plus the error of the law itself, "
                             "calibrated by backtests inside the data (it grows beyond the data); noise: the "
                             "bootstrap or covariance band alone, narrow beyond the data.")(command)


def columns_option(command):
    """--col NAME=COLUMN."""
    return click.option("--col", "cols", multiple=True, type=KeyValue("N=n_params", form="CANONICAL=COLUMN"),
                        metavar="NAME=COLUMN",
                        help="Use COLUMN of the file as canonical column NAME (N, D, C, loss, run, exclude). "
                             "Repeatable.")(command)


def plot_option(command):
    """--plot FILE (.png, .svg or .pdf)."""
    def check(ctx, param, value):
        if value is not None and not str(value).lower().endswith((".png", ".svg", ".pdf")):
            raise click.BadParameter(f"{value}: use a .png, .svg or .pdf file name", ctx=ctx, param=param)
        return value

    return click.option("--plot", "plot_path", type=click.Path(path_type=str), callback=check,
                        help="Save a figure (.png, .svg, .pdf).")(command)


def format_option(command):
    """The --format option: the readable report (table), or the result's tables as JSON, CSV or markdown on
    standard output, with the readable report moved to standard error."""
    from ..present import FORMATS

    def remember(ctx, _param, value):
        ctx.meta["format"] = value
        return value

    return click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
                        show_default=True, expose_value=False, callback=remember, is_eager=True,
                        help="table: the readable report; json, csv or markdown: the result tables on standard "
                             "output (the report goes to standard error).")(command)

