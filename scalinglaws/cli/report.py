"""``scalinglaws report``: load a fit and write its shareable, self-contained HTML report."""

from __future__ import annotations

import click

from ..store import load
from . import options as opt
from .output import Session


@click.command("report")
@opt.format_option
@click.argument("fit_file", type=click.Path(dir_okay=False, path_type=str), metavar="FIT.json")
@click.option("-o", "--out", required=True, type=click.Path(path_type=str), help="Write the HTML report here.")
@click.option("--budget", "budgets", type=opt.NumberList("1e23,1e24"), default=None,
              help="Compute budgets in FLOPs for the allocation table and the planning figures (default: five "
                   "decades from the largest fitted compute).")
@click.option("--schedule", "schedules", multiple=True, metavar="SPEC",
              help="Curve laws: a schedule to forecast in the report, e.g. 'cosine:steps=50000,peak=3e-4' "
                   "(default: the fitted runs' own). Repeatable.")
@click.option("--level", type=opt.Level(), default=0.9, show_default=True, help="Level of the bands.")
@click.option("--title", help="Title of the report (default: 'Scaling-law report: LAW').")
def command(fit_file, out, budgets, schedules, level, title):
    """Write a self-contained HTML report of a saved fit (scalinglaws fit --out FIT.json): the fit summary,
    parameters with uncertainties, diagnostics and warnings, the fit and planning figures, the allocation table
    with bands, the backtests of the calibrated band, and the provenance (input files with SHA-256, law,
    settings, versions). Figures and styles are inline: the file opens anywhere without network access, on a
    phone, and prints."""
    import matplotlib

    matplotlib.use("Agg")  # figures are only written into the file
    from ..report import build_report

    session = Session(inputs=[fit_file])
    result = load(fit_file)
    report = build_report(result, budgets, level=level, source=fit_file, title=title,
                          schedules={s: s for s in schedules} or None)
    session.protect(*[i.get("path") for i in report.provenance.get("inputs", [])])
    session.say(report.summary())
    session.add_text(out, report.html)
    session.emit(report)
    session.finish()
    return 0
