"""Hugging Face ``Trainer`` states: ``trainer_state.json`` (in an output folder or a ``checkpoint-<step>`` folder).

The ``log_history`` list holds one entry per logging event: training entries (``loss``, ``learning_rate``,
``grad_norm``, ``epoch``, ``step``, and ``num_input_tokens_seen`` when the trainer counts tokens), evaluation
entries (``eval_loss``, ``eval_runtime``, ...) and a final summary (``train_loss``, the *mean* training loss over
the run, ``train_runtime``, ``total_flos``). The curve takes ``loss``, ``eval_loss``, ``learning_rate`` and
``num_input_tokens_seen``; the summary's ``train_loss`` is not a point of the curve.

The run is named after the output folder (the parent of ``checkpoint-<step>`` folders). The state's
``train_batch_size`` is per device, so it is not used to count tokens: give ``batch_size`` and ``seq_len`` in
``runs.csv`` or log ``num_input_tokens_seen`` (``TrainingArguments(include_num_input_tokens_seen=True)``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..exceptions import InputError
from .formats import LogFormat, register_format
from .logs import LogTable, ParseContext, read_text, wide_from_records

FORMAT = "huggingface"
KEYS = {"loss": "loss", "eval_loss": "eval_loss", "lr": "learning_rate", "tokens": "num_input_tokens_seen"}
_CHECKPOINT = re.compile(r"checkpoint-\d+$")


def sniff(probe) -> bool:
    path = probe.path
    return path.name == "trainer_state.json" or (path.suffix.lower() == ".json" and b'"log_history"' in probe.head)


def run_folder(path: Path) -> Path:
    """The output folder a state belongs to (``out/checkpoint-500/trainer_state.json`` → ``out``)."""
    folder = path.parent
    return folder.parent if _CHECKPOINT.match(folder.name) else folder


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    text = read_text(path)
    try:
        state = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno,
                         hint="the file may be truncated; take the state of an earlier checkpoint") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise InputError("has no 'log_history' list of entries", path=path,
                         hint="give the trainer_state.json that transformers' Trainer writes")
    records = []
    for i, entry in enumerate(history):
        if not isinstance(entry.get("step"), int) or isinstance(entry.get("step"), bool):
            ctx.bad(InputError(f"log_history entry {i} has no integer 'step'", path=path,
                               hint="the state was edited or written by another tool"), "entries without step")
            continue
        records.append({"step": entry["step"], **{k: entry[k] for k in KEYS.values() if k in entry}})
    if not records:
        raise InputError("log_history has no entries with a step", path=path,
                         hint="the run logged nothing yet (logging_steps larger than the steps done?)")
    folder = run_folder(path)
    run = ctx.run_name(folder)
    frame, _ = wide_from_records(records, run, "step")
    meta = {k: state[k] for k in ("global_step", "max_steps") if isinstance(state.get(k), (int, float))}
    if state.get("train_batch_size"):
        meta["per_device_batch_size"] = state["train_batch_size"]
    return [LogTable(frame=frame, path=str(path), format=FORMAT, keys=dict(KEYS), meta={run: meta},
                     folder=str(folder))]


register_format(LogFormat(FORMAT, "Hugging Face trainer_state.json", parse=parse, sniff=sniff, priority=20))
