"""Plain-text trainer logs (console output saved to a file), in the dialects of common training code.

=============  ============================================================================================
dialect        lines read
=============  ============================================================================================
nanogpt        ``iter 120: loss 3.2100, time 812.50ms, mfu 31.00%`` (training loss);
               ``step 500: train loss 3.1, val loss 3.2`` (the validation loss; the train estimate is not used);
               ``tokens per iteration will be: 491,520`` and ``number of parameters: 123.59M`` (run metadata;
               nanoGPT's count leaves out the position embeddings)
megatron       Megatron-LM's ``iteration 100/ 2000 | consumed samples: 51200 | ... | learning rate: 3.0E-04 |
               global batch size: 512 | lm loss: 6.1E+00 | ...`` and ``validation loss at iteration 1000 |
               lm loss value: 3.4E+00 | ...``; the argument dump (``seq_length ..... 2048``) gives metadata,
               and tokens = consumed samples × ``seq_length``
gpt-neox       the same lines as written by GPT-NeoX (``lm_loss: ...``, ``validation results at iteration
               1000 | lm_loss value: ...``)
torchtitan     ``step: 10  loss:  8.7759  memory: ...`` and ``validate step: 10  loss: ...`` (colour codes and the
               ``[titan] <time> - root - INFO -`` prefix are ignored)
regex          your own: a regular expression with named groups ``step`` and any of ``loss``, ``eval_loss``,
               ``lr``, ``tokens`` (other named groups become metrics of their own)
=============  ============================================================================================

Lines that are not metrics (startup banners, warnings, samples) are ignored and counted. A value written as
``nan`` or ``inf`` is kept as a non-finite loss, which flags the run as diverged. A run is named after the
file (``gpt-125m.log`` → ``gpt-125m``), or after its folder when the file has a generic name (``train.log``,
``stdout.txt``, ...).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..schema import METRIC_ROLES as ROLES
from .formats import LogFormat, register_format
from .logs import NONFINITE, LogTable, ParseContext, check_last_line, read_text

FORMAT = "text"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NUM = r"[-+]?(?:\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf|NaN|Inf|-nan)"
_GENERIC_NAMES = {"train", "training", "log", "logs", "output", "out", "stdout", "stderr", "console", "run", "job"}


def _value(text: str) -> float:
    value = float(text.replace(",", ""))
    return value if np.isfinite(value) else NONFINITE


class Dialect:
    """A dialect reads metric lines into rows ``{"step": int, role: value, ...}`` and metadata into a dict."""

    name = ""
    signature: re.Pattern

    def read(self, line: str, meta: dict) -> dict | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def finish(self, frame: pd.DataFrame, meta: dict) -> pd.DataFrame:
        return frame


class NanoGPT(Dialect):
    name = "nanogpt"
    signature = re.compile(rf"^(iter \d+: loss {_NUM}|step \d+: train loss {_NUM}, val loss {_NUM})", re.M)
    _iter = re.compile(rf"^iter (\d+): loss ({_NUM})")
    _eval = re.compile(rf"^step (\d+): train loss {_NUM}, val loss ({_NUM})")
    _tokens = re.compile(r"^tokens per iteration will be: ([\d,]+)")
    _params = re.compile(r"^number of parameters: ([\d.]+)M")

    def read(self, line, meta):
        if m := self._iter.match(line):
            return {"step": int(m[1]), "loss": _value(m[2])}
        if m := self._eval.match(line):
            return {"step": int(m[1]), "eval_loss": _value(m[2])}
        if m := self._tokens.match(line):
            meta["tokens_per_step"] = int(m[1].replace(",", ""))
        elif m := self._params.match(line):
            meta["N"] = float(m[1]) * 1e6
        return None


class Megatron(Dialect):
    name = "megatron"
    signature = re.compile(r"iteration\s+\d+/\s*\d+ \|.*\| (lm loss|lm_loss): ", re.M)
    _iteration = re.compile(r"iteration\s+(\d+)/\s*\d+\s*\|(.*)$")
    _validation = re.compile(r"validation (?:loss|results) at iteration (\d+)[^|]*\|(.*)$")
    _argument = re.compile(r"^\s{2}(\w+) \.{3,} (.+?)\s*$")
    _fields = {"lm loss": "loss", "lm_loss": "loss", "learning rate": "lr", "consumed samples": "samples",
               "global batch size": "batch"}

    def read(self, line, meta):
        if m := self._validation.search(line):
            for part in m[2].split("|"):
                key, _, value = part.partition(":")
                if key.strip() in ("lm loss value", "lm_loss value"):
                    return {"step": int(m[1]), "eval_loss": _value(value.strip())}
            return None
        if m := self._iteration.search(line):
            row = {"step": int(m[1])}
            for part in m[2].split("|"):
                key, sep, value = part.partition(":")
                role = self._fields.get(key.strip())
                if sep and role:
                    row[role] = _value(value.strip().split()[0])
            return row
        if m := self._argument.match(line):
            meta[m[1]] = m[2]
        return None

    def finish(self, frame, meta):
        seq = meta.get("seq_length")
        if "samples" in frame and seq is not None and str(seq).isdigit():
            frame["tokens"] = frame["samples"] * int(seq)
        return frame.drop(columns=[c for c in ("samples", "batch") if c in frame])


class NeoX(Megatron):
    name = "gpt-neox"
    signature = re.compile(r"iteration\s+\d+/\s*\d+ \|.*\| lm_loss: ", re.M)


class TorchTitan(Dialect):
    name = "torchtitan"
    signature = re.compile(rf"(?<!validate )step:\s*\d+\s+loss:\s*{_NUM}", re.M)
    _train = re.compile(rf"(?<!validate )step:\s*(\d+)\s+loss:\s*({_NUM})")
    _eval = re.compile(rf"validate step:\s*(\d+)\s+loss:\s*({_NUM})")

    def read(self, line, meta):
        line = _ANSI.sub("", line)
        if m := self._eval.search(line):
            return {"step": int(m[1]), "eval_loss": _value(m[2])}
        if m := self._train.search(line):
            return {"step": int(m[1]), "loss": _value(m[2])}
        return None


class Regex(Dialect):
    name = "regex"

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern
        self.signature = pattern

    def read(self, line, meta):
        m = self.pattern.search(line)
        if m is None:
            return None
        row = {"step": int(float(m["step"].replace(",", "")))}
        for key, value in m.groupdict().items():
            if key != "step" and value is not None:
                row[key] = _value(value)
        return row


DIALECTS = (NeoX(), Megatron(), NanoGPT(), TorchTitan())


def compile_regex(pattern: str) -> re.Pattern:
    """Check a user's pattern: it compiles and names a ``step`` group and at least one value group."""
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        raise InputError(f"the regular expression does not compile ({err})",
                         hint="e.g. 'step (?P<step>\\d+).*loss (?P<loss>[0-9.]+)'") from None
    groups = set(compiled.groupindex)
    if "step" not in groups or not groups - {"step"}:
        raise InputError("the regular expression needs a named group 'step' and at least one value group",
                         hint="e.g. 'step (?P<step>\\d+).*loss (?P<loss>[0-9.]+)'")
    return compiled


def dialect_of(head: str, regex: re.Pattern | None = None) -> Dialect | None:
    """The dialect whose metric lines appear in ``head`` (the file's beginning); a user's regex comes first."""
    if regex is not None and regex.search(head):
        return Regex(regex)
    for dialect in DIALECTS:
        if dialect.signature.search(_ANSI.sub("", head)):
            return dialect
    return None


_TEXT_SUFFIXES = ("", ".log", ".txt", ".out", ".err", ".stdout", ".stderr")


def sniff(probe) -> bool:
    """A text file (no NUL byte) whose lines match a dialect; in folders only files with a text-like suffix."""
    if not (probe.path.suffix.lower() in _TEXT_SUFFIXES or probe.regex is not None or probe.named):
        return False
    return b"\x00" not in probe.head[:4096] and dialect_of(probe.head.decode("utf-8", "replace"), probe.regex) is not None


def _metric(dialect: Dialect, line: str) -> bool:
    """Whether a line is one of the dialect's metric lines (a cut-off one counts: its numbers may be cut)."""
    try:
        return dialect.read(line, {}) is not None
    except ValueError:
        return True


def run_name(path: Path, ctx: ParseContext) -> str:
    stem = path.name.split(".")[0]
    return ctx.run_name(path.parent) if stem.lower() in _GENERIC_NAMES or not stem else stem


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    text = read_text(path)
    if not text.strip():
        raise InputError("file is empty", path=path, hint="the run logged nothing yet")
    dialect = dialect_of(text[:262144], ctx.regex)
    if dialect is None:
        raise InputError("no metric lines of a known trainer", path=path,
                         hint="known: nanoGPT, Megatron-LM, GPT-NeoX, torchtitan; for another give --regex")
    raw = text.split("\n")
    meta: dict = {}
    cut = check_last_line(path, text[-400:].encode(), len(raw), ctx, complete=lambda line: not _metric(dialect, line))
    rows, lines, ignored = [], [], 0
    for number, line in enumerate(raw[:-1] if cut else raw, start=1):
        try:
            row = dialect.read(line, meta)
        except ValueError:
            ctx.bad(InputError(f"cannot read the numbers of {line.strip()[:80]!r}", path=path, line=number,
                               hint="the line is garbled"), "garbled metric lines")
            continue
        if row is None:
            ignored += bool(line.strip())
            continue
        rows.append(row)
        lines.append(number)
    if not rows:
        raise InputError(f"no metric lines ({dialect.name} dialect)", path=path,
                         hint="the run logged no step yet, or give --regex for this log's lines")
    frame = dialect.finish(pd.DataFrame.from_records(rows), meta)
    frame = frame.astype({c: float for c in frame.columns if c != "step"})
    run = run_name(path, ctx)
    frame.insert(0, "run", run)
    notes = [f"{dialect.name} dialect; {ignored} other lines ignored"]
    keys = {role: role for role in ROLES if role in frame.columns}
    return [LogTable(frame=frame, path=str(path), format=f"{FORMAT}:{dialect.name}", keys=keys, meta={run: meta},
                     lines=np.asarray(lines), notes=notes, folder=str(path.parent))]


register_format(LogFormat(FORMAT, "console logs of nanoGPT, Megatron-LM, GPT-NeoX and torchtitan (others with --regex)",
                          parse=parse, sniff=sniff, priority=90))
