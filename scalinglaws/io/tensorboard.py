"""TensorBoard event files (``events.out.tfevents.*``), read with the ``tensorboard`` package.

A folder holding event files is one run (several files in one folder, as a resumed run writes, are read in
order, and TensorBoard's reader drops the steps a restart rewinds over). Every scalar tag becomes a metric
column: scalars written by ``torch.utils.tensorboard``/``tensorboardX`` (``simple_value``) and by TF2's
``tf.summary.scalar`` (scalar tensors). Values are stored as float32; they are given back as the shortest
decimal that rounds to the stored value (``6e-05``, not ``5.9999998e-05``).

The reader silently stops at a record cut off at the end of a file; this parser checks the record framing
first, so a truncated file is reported.

Needs the optional extra: ``pip install 'scalinglaws[tensorboard]'``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError, MissingDependencyError
from .formats import LogFormat, register_format
from .logs import NONFINITE, LogTable, ParseContext

FORMAT = "tensorboard"
PREFIX = "events.out.tfevents"


def sniff(probe) -> bool:
    return probe.path.name.startswith(PREFIX)


def sniff_folder(folder: Path, names: list[str]) -> bool:
    return any(name.startswith(PREFIX) for name in names)


def _records_complete(path: Path) -> tuple[int, bool]:
    """Count the TFRecord frames of a file (8-byte length, 4-byte CRC, data, 4-byte CRC) and whether the
    last one is whole."""
    size = path.stat().st_size
    count = position = 0
    with path.open("rb") as handle:
        while position < size:
            header = handle.read(12)
            if len(header) < 12:
                return count, False
            (length,) = struct.unpack("<Q", header[:8])
            position += 12 + length + 4
            if position > size:
                return count, False
            handle.seek(position)
            count += 1
    return count, True


def _accumulator(folder: Path):
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise MissingDependencyError("reading TensorBoard event files needs the tensorboard package; install it "
                                     "with: pip install 'scalinglaws[tensorboard]'") from None
    sizes = {event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance=sizes)
    try:
        accumulator.Reload()
    except Exception as err:  # the reader raises its own DataLossError / DecodeError family on corrupt files
        raise InputError(f"cannot read the event files ({type(err).__name__}: {err})", path=folder,
                         hint="the files may be corrupt") from None
    return accumulator


def _shortest(values: np.ndarray) -> np.ndarray:
    """float32 values as the shortest decimals that round to them; non-finite ones as the NONFINITE marker."""
    out = np.asarray(values, dtype=np.float32).astype(str).astype(float)  # numpy prints float32 shortest-first
    out[~np.isfinite(out)] = NONFINITE
    return out


def parse(folder: Path, ctx: ParseContext) -> list[LogTable]:
    """Read every event file in ``folder`` as one run."""
    files = sorted(p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.is_file())
    for path in files:
        if path.stat().st_size == 0:
            raise InputError("event file is empty", path=path, hint="the run wrote nothing yet; remove the file")
        count, whole = _records_complete(path)
        if not whole:
            ctx.bad(InputError(f"the event file is cut off after {count} whole records (truncated, or still "
                               "being written?)", path=path, hint="copy the file again once the run has flushed"),
                    "truncated event records")
    accumulator = _accumulator(folder)
    tags = accumulator.Tags()
    columns: dict[str, pd.Series] = {}
    for tag in tags.get("scalars", []):
        events = accumulator.Scalars(tag)
        steps = np.array([e.step for e in events], dtype=np.int64)
        columns[tag] = pd.Series(_shortest(np.array([e.value for e in events])), index=steps)
    for tag in tags.get("tensors", []):
        events = accumulator.Tensors(tag)
        from tensorboard.util import tensor_util

        arrays = [tensor_util.make_ndarray(e.tensor_proto) for e in events]
        if not arrays or any(a.size != 1 or a.dtype.kind not in "fiu" for a in arrays):
            continue  # text, images, histograms: not a scalar metric
        steps = np.array([e.step for e in events], dtype=np.int64)
        columns[tag] = pd.Series(_shortest(np.array([float(a.reshape(())) for a in arrays])), index=steps)
    if not columns:
        raise InputError("the event files hold no scalar values", path=folder,
                         hint="log the loss with writer.add_scalar('train/loss', loss, step)")
    # a tag logged twice at one step keeps its last value (the accumulator already dropped rewound steps)
    columns = {tag: s[~s.index.duplicated(keep="last")] for tag, s in columns.items()}
    wide = pd.DataFrame(columns).sort_index()
    run = ctx.run_name(folder)
    frame = pd.concat([pd.DataFrame({"run": run, "step": wide.index.to_numpy()}),
                       wide.reset_index(drop=True)], axis=1)
    return [LogTable(frame=frame, path=str(folder), format=FORMAT, folder=str(folder))]


register_format(LogFormat(FORMAT, "TensorBoard event folders", parse=parse, sniff=sniff, sniff_folder=sniff_folder,
                          priority=10))
