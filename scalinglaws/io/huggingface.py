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
from collections import Counter
from pathlib import Path

from ..exceptions import InputError
from ..schema import counted
from .formats import LogFormat, register_format
from .logs import LogTable, ParseContext, SkippedLog, read_text, wide_columns

FORMAT = "huggingface"
KEYS = {"loss": "loss", "eval_loss": "eval_loss", "lr": "learning_rate", "tokens": "num_input_tokens_seen"}
#: Token counts a state may carry, in order of preference: the Trainer's own, TRL's per-entry count, and TRL's
#: copy of it in evaluation entries.
TOKEN_KEYS = ("num_input_tokens_seen", "num_tokens", "eval_num_tokens")
#: The column the token counts of a state are gathered into (the first of TOKEN_KEYS found in each entry).
TOKENS = "tokens (num_input_tokens_seen, num_tokens)"
_CHECKPOINT = re.compile(r"(checkpoint-\d+|last-checkpoint)$")
_SUMMARY = ("train_loss", "total_flos", "train_samples_per_second")
_STEPLESS = ("predict_", "test_")


def sniff(probe) -> bool:
    path = probe.path
    return path.name == "trainer_state.json" or (path.suffix.lower() == ".json" and b'"log_history"' in probe.head)


#: What the Trainer's example scripts write beside the output's trainer_state.json (``trainer.save_metrics``).
RESULTS = ("all_results.json", "train_results.json", "eval_results.json", "test_results.json",
           "predict_results.json")


def _ignore(path: Path) -> str | None:
    if path.name in RESULTS and (path.parent / "trainer_state.json").is_file():
        return ("Trainer result summaries beside a trainer_state.json (run means and final scores; an evaluation "
                "after training is read with the state)")
    if path.name == "trainer_log.jsonl" and (path.parent / "trainer_state.json").is_file():
        return "LLaMA-Factory's copies of a Trainer run (trainer_log.jsonl: the state's curve, rounded; the state is read)"
    return None


def _evaluation_after_training(path: Path, state: dict, records: list[dict]) -> dict | None:
    """The evaluation the Trainer's scripts run after training (``trainer.evaluate()`` then
    ``save_metrics("eval", ...)``), as an entry at the state's last step: it is written to ``eval_results.json``
    beside the output's ``trainer_state.json``, which was saved before it. Only when that file's epoch is the
    state's last epoch and the state has no evaluation at its last step."""
    results = path.parent / "eval_results.json"
    step, epoch = state.get("global_step"), state.get("epoch")
    if path.name != "trainer_state.json" or run_folder(path) != path.parent or not results.is_file() \
            or not isinstance(step, int) or not isinstance(epoch, (int, float)):
        return None
    try:
        scores = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if not isinstance(scores, dict) or not number(scores.get("eval_loss")) or not number(scores.get("epoch")) \
            or abs(scores["epoch"] - epoch) > 1e-9 * max(1.0, abs(epoch)):
        return None
    if any(r.get("step") == step and "eval_loss" in r for r in records) or \
            any(r.get("step", -1) > step for r in records):
        return None
    return {"step": step, **{k: v for k, v in scores.items() if k.startswith("eval_") and number(v)}}


def run_folder(path: Path) -> Path:
    """The output folder a state belongs to (``out/checkpoint-500/trainer_state.json`` → ``out``; the Hub's
    ``out/last-checkpoint/`` too)."""
    folder = path.parent
    return folder.parent if _CHECKPOINT.match(folder.name) else folder


try:  # optional (the 'fast' extra): 4x faster JSON; every result is checked to be the standard library's
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None
#: orjson reads integers outside int64/uint64 as floats: a text with an integer of 19 digits or more is read by json.
#: Found by mapping digits to "0" and what may precede an integer (``[ , :``, space, ``-``) to " ": an integer
#: literal of 19 digits is then " " and 19 zeros (a fraction's digits follow "."; an exponent's "e" or "+").
_DIGITS = bytes(48 if 48 <= i <= 57 else 46 if i == 46 else 101 if i in (69, 101) else 43 if i == 43 else 32
                for i in range(256))
_LONG_INTEGER = b" " + b"0" * 19


def _fingerprint(entry: dict):
    """What identifies a log entry when histories are compared (see :mod:`scalinglaws.io.lineage`): equal for
    equal entries, different otherwise. orjson's sorted encoding where it is exact (it writes NaN and inf as
    null: an entry whose encoding holds ``null`` takes the standard library's, which is a ``str``, never equal
    to orjson's ``bytes``), else ``json.dumps``."""
    if _orjson is not None:
        try:
            out = _orjson.dumps(entry, option=_orjson.OPT_SORT_KEYS)
        except TypeError:  # integers past 64 bits
            out = None
        if out is not None and b"null" not in out:
            return out
    return json.dumps(entry, sort_keys=True, default=str)


def _fingerprints(history: list) -> tuple:
    """:func:`_fingerprint` of every entry, from one encoding of the whole history where that gives the same bytes
    (a call per entry costs more than the encoding): split at the ``},{`` between entries, which is exact when
    the pieces are as many as the entries (a ``},{`` inside a value would make more) and nothing is ``null``."""
    if _orjson is not None and history:
        try:
            whole = _orjson.dumps(history, option=_orjson.OPT_SORT_KEYS)
        except TypeError:
            whole = None
        if whole is not None and b"null" not in whole and whole.startswith(b"[{") and whole.endswith(b"}]"):
            pieces = whole[2:-2].split(b"},{")
            if len(pieces) == len(history):
                return tuple(b"{" + piece + b"}" for piece in pieces)
    return tuple(_fingerprint(entry) for entry in history)


def _loads(text: str):
    """``json.loads(text)``, by orjson where it gives the same (not for NaN/Infinity tokens, numbers out of range,
    lone surrogates or integers of 19 digits or more: those, and every error, are the standard library's)."""
    if _orjson is not None and not _long_integer(text):
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _long_integer(text: str) -> bool:
    """Whether ``text`` may hold an integer literal of 19 digits or more (or a string or number that looks like
    one: those are read by json too, which is only slower)."""
    return _LONG_INTEGER in (b" " + text.encode("utf-8", "surrogatepass")).translate(_DIGITS)


def _merge_same_steps(records: list[dict]) -> list[dict]:
    """Neighbouring entries of one step as one record (the Trainer logs a training and an evaluation entry at
    the same step): what the ingest's merge of rows of one step gives (each metric's last logged value), done
    here on the dicts, which spares each state a sort and a second frame. Only where it is the same: steps
    that never go back (restarts are settled later, and counted), and entries that agree on the numbers both
    log (``None`` in the second is not logged there); anything else is left to the ingest's merge.

    >>> _merge_same_steps([{"step": 10, "loss": 2.0, "tokens": 5}, {"step": 10, "eval_loss": 2.1, "tokens": 5},
    ...                    {"step": 20, "loss": 1.9}])
    [{'step': 10, 'loss': 2.0, 'tokens': 5, 'eval_loss': 2.1}, {'step': 20, 'loss': 1.9}]
    """
    steps = [r["step"] for r in records]
    if len(set(steps)) == len(steps) or any(b < a for a, b in zip(steps, steps[1:])):
        return records
    out = [records[0]]
    for record in records[1:]:
        last = out[-1]
        # a key both log must hold the same number in both (a key None in the first and set in the second
        # would move in the order of the columns: not merged)
        if record["step"] == last["step"] and all(
                key not in last or value is None
                or (type(value) in (int, float) and type(last[key]) is type(value) and last[key] == value)
                for key, value in record.items()):
            merged = dict(last)
            merged.update((key, value) for key, value in record.items() if value is not None)
            out[-1] = merged
        else:
            out.append(record)
    return out


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    text = read_text(path)
    if not text.strip():
        raise InputError("is empty (a trainer state holds a JSON object)", path=path,
                         hint="the checkpoint may still be being written; take the state of an earlier one")
    try:
        state = _loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno,
                         hint="the file may be truncated; take the state of an earlier checkpoint") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise InputError("has no 'log_history' list of entries", path=path,
                         hint="give the trainer_state.json that transformers' Trainer writes")
    records, summaries, stepless = [], [], 0
    for i, entry in enumerate(history):
        step = entry.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            if entry and all(k.startswith(_STEPLESS) or k == "epoch" for k in entry):
                stepless += 1  # trainer.predict()/evaluate(metric_key_prefix="test") scores: no step, no curve
                continue
            ctx.bad(InputError(f"log_history entry {i} has no integer 'step'", path=path,
                               hint="the state was edited or written by another tool"), "entries without step")
            continue
        if "loss" not in entry and any(k in entry for k in _SUMMARY):  # the final summary: its train_loss is the
            #                                                   run's mean, not a point
            summaries.append(entry)
            continue
        record = {k: v for k, v in entry.items() if k != "epoch"}
        tokens = next((entry[k] for k in TOKEN_KEYS if isinstance(entry.get(k), (int, float))), None)
        if tokens is not None:
            record[TOKENS] = tokens
        records.append(record)
    final = _evaluation_after_training(path, state, records)
    if final is not None:
        records.append(final)
        ctx.notes.append(f"{path.parent.name or path.parent}: eval_loss {final['eval_loss']:.6g} at step "
                         f"{final['step']} read from eval_results.json (the evaluation after training, which "
                         "the saved trainer_state.json does not hold)")
    if stepless:
        ctx.skip(path, "step-less predict_/test_ entries of trainer states (test-set scores, not curve points)",
                 count=stepless)
    folder = run_folder(path)
    run = ctx.run_name(folder)
    if not records:
        if summaries:
            steps = state.get("logging_steps"), state.get("max_steps") or state.get("global_step")
            why = (f" (logging_steps {steps[0]} > the {steps[1]} steps run)"
                   if all(isinstance(v, int) for v in steps) and steps[0] > steps[1] else "")
            raise SkippedLog(f"log_history holds only the final summary (train_loss is the run's mean): no loss at "
                             f"any step{why}", path=path, reason="trainer states with no loss at any step "
                             "(only the final summary)", hint="log more often (logging_steps) to get a curve")
        raise SkippedLog("log_history has no entries with a step", path=path, reason="trainer states with no "
                         "logged step", hint="the run logged nothing yet (logging_steps larger than the steps done?)")
    dropped: Counter = Counter()
    frame, text_keys = wide_columns(_merge_same_steps(records), run, "step", dropped)
    for key in text_keys:  # every value of a key is text: a metric written as strings is not read, and said
        count = sum(isinstance(r.get(key), str) for r in records)
        if count and (key in KEYS.values() or "loss" in key):
            ctx.skip(path, f"text values of logged metric '{key}' (not numbers)", count=count,
                     detail=f"{path}: '{key}' is logged as text ({next(r[key] for r in records if isinstance(r.get(key), str))!r}...), not read; log numbers")
    for key, count in dropped.items():
        if count == sum(isinstance(r.get(key), str) for r in records):
            reason, what = f"text values of logged metric '{key}' (not numbers)", "text, not numbers"
        else:  # lists or booleans among them
            reason = f"values of logged metric '{key}' that are not numbers (text, lists or booleans)"
            what = "not numbers (text, lists or booleans)"
        ctx.skip(path, reason, count=count, detail=f"{path}: {counted(count, 'value')} of '{key}' "
                 f"{'is' if count == 1 else 'are'} {what}; {'it is' if count == 1 else 'they are'} left out")
    meta = {k: state[k] for k in ("global_step", "max_steps") if isinstance(state.get(k), (int, float))}
    if state.get("train_batch_size"):
        meta["per_device_batch_size"] = state["train_batch_size"]
    keys = {role: name for role, name in KEYS.items() if role != "tokens"}
    if TOKENS in frame:
        keys["tokens"] = TOKENS
    return [LogTable(frame=frame, path=str(path), format=FORMAT, keys=keys, meta={run: meta}, named_by_path=True,
                     folder=str(folder), lineage=_fingerprints(history))]


register_format(LogFormat(FORMAT, "Hugging Face trainer_state.json", parse=parse, sniff=sniff, priority=20,
                          ignore=_ignore))
