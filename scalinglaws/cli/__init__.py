"""The ``scalinglaws`` command line: a thin layer over the Python API. Each command is a module of this package
that reads its input, calls the library and presents the result; this module assembles them.

Every error a user can cause prints one line, ``scalinglaws: error: <file, line, column: what; what to do>``,
on standard error and exits with code 2.
"""

from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from ..exceptions import ScalingLawsError, ScalingLawsWarning

__all__ = ["cli", "main", "COMMANDS"]

#: The commands: modules of this package, each with a click ``command`` (adding a command is a new module and
#: its name here).
COMMANDS = (
    "fit",
    "forecast",
    "plan",
    "compare",
    "batch",
    "ingest",
    "isoflop",
    "laws",
    "report",
)


class _Commands(click.Group):
    """The group of :data:`COMMANDS`, each module imported only when its command runs (or help lists it), so
    ``scalinglaws --version`` and every command start without loading the others."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(f".{name}", __name__).command

    @property
    def commands(self) -> dict:  # click's own attribute, for tools that read it (the docs' CLI reference)
        return {name: self.get_command(None, name) for name in COMMANDS}

    @commands.setter
    def commands(self, value) -> None:
        pass


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="scalinglaws", message="%(prog)s %(version)s")
def cli():
    """Fit scaling laws to training runs and forecast bigger runs."""


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=None):
    """Warnings of scalinglaws as one line of the report (others as Python shows them)."""
    if issubclass(category, ScalingLawsWarning):
        click.echo(f"scalinglaws: warning: {message}", err=True)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code."""
    import functools
    import warnings

    shown = warnings.showwarning
    warnings.showwarning = functools.partial(_show_warning, _default=shown)
    try:
        return _main(argv)
    finally:
        warnings.showwarning = shown


def _main(argv) -> int:
    try:
        result = cli.main(args=argv, prog_name="scalinglaws", standalone_mode=False)
    except click.exceptions.Abort as err:
        if isinstance(err.__cause__, EOFError):  # click turns any EOFError into an Abort: a cut-off input file
            click.echo(f"scalinglaws: error: an input ended unexpectedly ({err.__cause__}); check that no input "
                       "file is truncated", err=True)
            return 2
        click.echo("scalinglaws: interrupted", err=True)
        return 130
    except RecursionError:  # a reader met input nested too deeply (e.g. JSON) before it could say which
        click.echo("scalinglaws: error: an input is nested too deeply to read (JSON?); give flat tables or the "
                   "files scalinglaws writes", err=True)
        return 2
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
        click.echo(f"scalinglaws: error: {_with_fix(str(err), err, argv)}", err=True)
        return 2
    except OSError as err:  # e.g. a full disk while writing an output
        where = f"{err.filename}: " if err.filename else ""
        click.echo(f"scalinglaws: error: {where}{err.strerror or err}", err=True)
        return 2
    return result if isinstance(result, int) else 0


def _with_fix(message: str, err: Exception, argv) -> str:
    """``message`` with what to do after a semicolon: the error's own advice, else where to look it up."""
    if "; " in message:
        return message
    from ..exceptions import LawError

    args = list(argv if argv is not None else sys.argv[1:])
    command = next((a for a in args if a in COMMANDS), None)
    if isinstance(err, LawError):
        return f"{message}; see 'scalinglaws laws' for the laws, their inputs and parameters"
    return f"{message}; see 'scalinglaws {command or ''} --help'".replace("  ", " ")


def _entry() -> None:
    sys.exit(main())
