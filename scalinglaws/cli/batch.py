"""``scalinglaws batch``: the critical batch size of batch-size sweeps."""

from __future__ import annotations

import click

from ..exceptions import InputError
from ..forecasting import analyze_batch_sweeps
from ..io import read_table
from . import options as opt
from .output import Session


@click.command("batch")
@opt.format_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--by", "group", help="Column naming each sweep (default: 'model' when present, else one sweep).")
@click.option("--batch-col", help="Batch-size column (default: batch_size_tokens, batch_size, bs, B).")
@click.option("--steps-col", help="Steps-to-target column (default: steps_to_target, steps, S).")
@click.option("--level", type=opt.Level(), default=0.9, show_default=True, help="Level of the intervals.")
@click.option("--reference-batch", type=opt.Number(), default=None,
              help="Zhang et al.'s reference batch in the batch column's unit (default 256 sequences, or "
                   "256 x seq_len for a batch in tokens).")
@opt.plot_option
@click.option("--out", type=click.Path(path_type=str), help="Write the table here (.csv, .tsv, .jsonl, .parquet).")
def command(file, group, batch_col, steps_col, level, reference_batch, plot_path, out):
    """Fit the critical batch size to batch-size sweeps in FILE: S = S_min + E_min/B per sweep, Zhang et al.'s
    critical batch size (20% over linear scaling from the reference batch) and McCandlish et al.'s noise scale
    B_noise = E_min/S_min with an interval, and how they scale."""
    session = Session(inputs=[file])
    frame, _ = read_table(file)
    try:
        result = analyze_batch_sweeps(frame, by=group, batch=batch_col, steps=steps_col, level=level,
                                      reference_batch=reference_batch)
    except InputError as err:
        raise err.in_file(file) from None
    from ..plot import plot_batch

    return session.present(result, out=out, table=result.table, plot_path=plot_path,
                           figure=lambda: plot_batch(result.fits))
