"""``scalinglaws ingest``: read training logs into one curves table, a runs table and points."""

from __future__ import annotations

import click

from ..io.formats import formats
from . import options as opt
from .fit import log_settings
from .output import Session


def _formats_help() -> str:
    return "; ".join(f.description for f in formats())


@click.command("ingest", help=f"""Read training logs in PATHS (files or folders; formats detected) into one table.

    Reads {_formats_help()}. Run metadata (N, batch size, sequence length) comes from a runs.csv, the logs, or
    config files next to them; tokens are step x batch size x sequence length when not logged. Prints every run
    with its flags (diverged, unit problems) and everything skipped, and why.
    """)
@opt.format_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--out", type=click.Path(path_type=str),
              help="Write the curves (one row per logged step, with each run's N and C) here: .parquet, .csv, "
                   ".tsv or .jsonl.")
@click.option("--points", "points_out", type=click.Path(path_type=str),
              help="Write one point per run here (.csv, .tsv, .jsonl, .parquet), ready for 'scalinglaws fit'.")
@click.option("--runs-out", type=click.Path(path_type=str), help="Write the runs table (metadata, flags) here.")
@click.option("--at-tokens", type=opt.NumberList("1e9,2e9"),
              help="Points at these token counts of every run (e.g. 1e9,2e9), not at the end.")
@click.option("--at-flops", type=opt.NumberList("1e18,3e18"),
              help="Points at these compute budgets of every run (FLOPs, e.g. 1e18,3e18).")
@click.option("--diverge-factor", type=opt.Number(), default=1.25, show_default=True,
              help="A run whose final loss exceeds its best by this factor is flagged as diverged.")
@click.option("--n-jobs", type=opt.Count(1, all_cores=True), default=None,
              help="Worker processes reading the logs (-1: every core; default: every core for folders of 4,096 "
                   "logs or more, else this process).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@opt.log_options
def command(paths, out, points_out, runs_out, ema, ema_unit, at_tokens, at_flops, diverge_factor, strict,
            tracking_uri, n_jobs, quiet, runs_file, how, metric, regex, keys, n_count, skip_bad_lines):
    session = Session(inputs=[*paths, runs_file])
    logs = log_settings(runs_file, how, metric, regex, keys, n_count, skip_bad_lines, ema, ema_unit, strict,
                        tracking_uri)
    from dataclasses import replace

    from ..exceptions import InputError

    ingested = replace(logs, diverge_factor=diverge_factor, n_jobs=n_jobs,
                       progress=False if quiet else None).ingest(list(paths))
    if not len(ingested.runs):
        session.say(ingested.summary())
        left = int(ingested.skipped["count"].sum())
        raise InputError("no run could be read", path=", ".join(paths),
                         hint=f"{left} {'thing was' if left == 1 else 'things were'} left out, each with its reason "
                              "(above)")
    session.protect(*ingested.files["path"], *ingested.runs["source"])
    session.show(ingested)
    if out:
        session.add_table(out, ingested.table())
    session.add_table(runs_out, ingested.runs)
    if points_out:
        points = ingested.points(how=how, metric=metric, ema=ema, ema_unit=ema_unit, at_tokens=at_tokens,
                                 at_flops=at_flops)
        session.add_table(points_out, points)
        excluded = int(points["exclude"].sum())
        missed = points.attrs.get("not_reached", 0)
        session.say(f"Points: {len(points)}" + (f", {excluded} marked exclude" if excluded else "")
                    + (f"; {missed} token counts not reached by a run" if missed else ""))
    session.emit(ingested)
    session.finish()
    return 0
