"""How a command presents: the readable report on standard output (standard error with ``--format
json|csv|markdown``, whose tables then go to standard output), and its files written together at the end.

Every command makes one :class:`Session`: ``say()`` prints a line of the report, ``show(result)`` prints a
result's summary, ``emit(result)`` its tables in the format asked, and the ``outputs`` (JSON, CSV, figures) are
planned as the command goes and written together by ``finish()``: checked against everything the command read,
then renamed into place only when all were written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

from ..io.atomic import Outputs

__all__ = ["Session", "OUTPUT_OPTIONS"]

#: The parameters of the commands that name output files: checked when the command starts (a folder, a named
#: pipe, an input or the same file twice is refused before any work), and again when written.
OUTPUT_OPTIONS = ("out", "plot_path", "points_out", "runs_out")


class Session:
    """The presentation and the outputs of one command run (see the module docstring)."""

    def __init__(self, inputs=()):
        ctx = click.get_current_context(silent=True)
        self.format = "table" if ctx is None else ctx.find_root().meta.get("format", "table")
        # the inputs named on the command line, and every file the command opens for reading (sidecars, configs,
        # the files of folders): none may be overwritten by an output
        self.outputs = Outputs(inputs=[p for p in inputs if p is not None], record=True)
        self._tables: dict = {}
        if ctx is not None:
            self._check_outputs([ctx.params.get(k) for k in OUTPUT_OPTIONS])

    def _check_outputs(self, paths) -> None:
        """Refuse, before any work, output paths that cannot be written or would overwrite an input or each
        other (the same checks run again when the outputs are written, against everything read by then)."""
        from ..exceptions import OutputError
        from ..io.atomic import check_output_path

        seen: dict = {}
        for path in (p for p in paths if p):
            real = check_output_path(path, inputs=self.outputs.inputs)
            if real in seen:
                raise OutputError(f"{path}: is also the path of another output of this command ({seen[real]}); "
                                  "give each output its own file")
            seen[real] = path

    # -- the report -----------------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        """A line of the readable report."""
        click.echo(text, err=self.format != "table")

    def show(self, result) -> None:
        """A result's ``summary()``, then an empty line."""
        self.say(result.summary())
        self.say()

    def emit(self, *results, **tables) -> None:
        """Collect results' ``tables()`` (and named tables) for ``--format json|csv|markdown``; printed by
        :meth:`finish`."""
        for result in results:
            if result is not None:
                self._tables.update(result.tables())
        self._tables.update({k: v for k, v in tables.items() if v is not None})

    # -- files ------------------------------------------------------------------------------------------
    def protect(self, *paths) -> None:
        """Files or folders the command read, found along the way (never to be overwritten)."""
        self.outputs.protect(*paths)

    def add_text(self, path, text: str | Callable[[], str]) -> None:
        """Plan a text output (``text`` or a function giving it)."""
        if path:
            self.outputs.add(path, lambda handle: handle.write(text() if callable(text) else text))

    def add_table(self, path, frame) -> None:
        """Plan a table output in the format its extension names (see :func:`~scalinglaws.io.write_table`)."""
        if path:
            from ..io.tables import write_table_to

            self.outputs.add(path, lambda handle: write_table_to(frame, handle, Path(path)),
                             binary=Path(path).suffix.lower() == ".parquet")

    def add_figure(self, path, make: Callable) -> None:
        """Plan a figure output (``make()`` draws it; PNG, SVG or PDF from the extension)."""
        if path:
            def write(handle):
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot as plt

                from ..plot import figure_to

                fig = make()
                try:
                    figure_to(fig, handle, Path(path))
                finally:
                    plt.close(fig)

            self.outputs.add(path, write, binary=True)

    def present(self, result, *, out=None, table=None, plot_path=None, figure: Callable | None = None) -> int:
        """The usual ending of a command: ``result``'s summary, its ``table`` written to ``out`` and the figure
        ``figure()`` to ``plot_path`` (each if asked), its tables for --format, everything written; returns 0."""
        self.show(result)
        self.add_table(out, table)
        if plot_path and figure is not None:
            self.add_figure(plot_path, figure)
        self.emit(result)
        self.finish()
        return 0

    def finish(self) -> None:
        """Write every planned output (all or none), say so, and print the tables asked for with --format."""
        if self.outputs:
            for path in self.outputs.commit():
                self.say(f"Wrote {path}")
        if self.format != "table":
            from ..present import render_tables

            click.echo(render_tables(self._tables, self.format), nl=False)
