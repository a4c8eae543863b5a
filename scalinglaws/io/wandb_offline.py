"""W&B run directories (``wandb/offline-run-<time>-<id>/`` or ``run-<time>-<id>/``): the run's transaction log
``run-<id>.wandb``, read with the wandb SDK's own reader (``wandb.sdk.internal.datastore``; ``pip install
'scalinglaws[wandb]'``), not a hand-written parser of its records.

Every ``history`` record is a logged row (its keys as W&B shows them; nested keys joined with ``.``); the step is
a trainer's own step key when the rows carry one (``trainer/global_step``, ``train/global_step``,
``global_step``, ``step``), else W&B's ``_step``. The ``run`` record gives the run's name (its display name, else
its id) and, with the ``config`` records, its configuration (``n_params``, ``batch_size``, ``seq_len`` ...).
System metrics (``stats`` records), console output, summaries and files are not curves and are not read. The
folder is the whole run: the files below it (``files/wandb-summary.json``, ``output.log``) are not read apart.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..exceptions import InputError, MissingDependencyError
from .formats import LogFormat, register_format
from .logs import LogTable, ParseContext, wide_from_records
from .names import step_key

FORMAT = "wandb-run"
_W_AND_B_KEYS = ("_step", "_runtime", "_timestamp")


def sniff_folder(folder: Path, names: list[str]) -> bool:
    return any(n.startswith("run-") and n.endswith(".wandb") for n in names)


def _reader():
    try:
        from wandb.proto import wandb_internal_pb2
        from wandb.sdk.internal import datastore
    except ImportError:
        try:
            import wandb
        except ImportError:
            wandb = None
        found = f" (wandb {wandb.__version__} has no transaction-log reader)" if wandb is not None else ""
        raise MissingDependencyError(f"reading W&B run directories needs the wandb SDK's reader{found}; install it "
                                     "with: pip install 'scalinglaws[wandb]'") from None
    return datastore, wandb_internal_pb2


def _key(item) -> str:
    return item.key or ".".join(item.nested_key)


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def parse(folder: Path, ctx: ParseContext) -> list[LogTable]:
    files = sorted(p for p in folder.iterdir() if p.name.startswith("run-") and p.suffix == ".wandb")
    datastore, pb = _reader()
    records, config, name = [], {}, None
    for path in files:
        store = datastore.DataStore()
        try:
            store.open_for_scan(str(path))
        except Exception as err:  # the reader asserts on a header that is not W&B's
            raise InputError(f"not a W&B transaction log ({type(err).__name__}: {err})", path=path,
                             hint="give the run folder as W&B wrote it") from None
        while True:
            try:
                data = store.scan_data()
            except Exception as err:  # a record cut off (the run still writing, or killed)
                ctx.bad(InputError(f"the transaction log is cut off after {len(records)} history rows "
                                   f"({type(err).__name__})", path=path, hint="copy the folder again once the "
                                   "run has finished or synced"), "truncated W&B records")
                break
            if data is None:
                break
            record = pb.Record()
            record.ParseFromString(data)
            kind = record.WhichOneof("record_type")
            if kind == "history":
                row = {_key(item): _value(item.value_json) for item in record.history.item}
                records.append(row)
            elif kind == "run":
                name = record.run.display_name or record.run.run_id
                config.update({_key(u): _value(u.value_json) for u in record.run.config.update})
            elif kind == "config":
                config.update({_key(u): _value(u.value_json) for u in record.config.update})
    if name is None:
        name = folder.name.rsplit("-", 1)[-1]
    if not records:
        raise InputError("the run logged no history rows", path=folder, hint="the run logged nothing yet")
    keys = {k for r in records for k in r}
    trainer = step_key(k for k in keys if k != "_step")
    key = trainer if trainer is not None else "_step"
    kept = [r for r in records if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
    if len(kept) < len(records):
        ctx.skip(folder, f"W&B history rows without {key!r}", count=len(records) - len(kept))
    if not kept:
        raise InputError(f"the history rows have no step ({key!r})", path=folder, hint="log with a step")
    for r in kept:
        r[key] = int(r[key])
    run = name
    frame, _ = wide_from_records(kept, run, key)
    frame = frame.drop(columns=[c for c in _W_AND_B_KEYS if c in frame.columns])
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    return [LogTable(frame=frame, path=str(folder), format=FORMAT, meta={run: config}, folder=str(folder),
                     notes=[f"{len(files)} transaction log(s), {len(kept)} history rows; step from {key!r}"])]


register_format(LogFormat(FORMAT, "W&B run directories (run-*.wandb, read with the wandb SDK)", parse=parse,
                          sniff_folder=sniff_folder, priority=6))
