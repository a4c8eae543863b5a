"""Plain-text trainer logs (console output saved to a file), in the dialects of common training code.

=============  ============================================================================================
dialect        lines read
=============  ============================================================================================
nanogpt        ``iter 120: loss 3.2100, time 812.50ms, mfu 31.00%`` (training loss);
               ``step 500: train loss 3.1, val loss 3.2`` (the validation loss; the train estimate is not used);
               ``tokens per iteration will be: 491,520`` (or the older ``total number of tokens per iteration:
               491520``) and ``number of parameters: 123.59M`` (nanoGPT's count leaves out the position
               embedding but includes the token embedding: see :func:`nanogpt_parameters`)
megatron       Megatron-LM's ``iteration 100/ 2000 | consumed samples: 51200 | ... | learning rate: 3.0E-04 |
               global batch size: 512 | lm loss: 6.1E+00 | ...`` (and the 2019–2020 fields without colons,
               ``learning rate 3.9E-06 | lm loss 8.99E+00 |``), ``validation loss at iteration 1000 | lm loss
               value: 3.4E+00 | ...`` (or ``| LM loss: ...``); the argument dump (``seq_length ..... 2048``)
               gives metadata; tokens are Megatron-DeepSpeed's ``consumed tokens:``, else consumed samples ×
               ``seq_length``
gpt-neox       the same lines as written by GPT-NeoX (``lm_loss: ...``, ``validation results at iteration
               1000 | lm_loss value: ...``)
torchtitan     ``step: 10  loss:  8.7759  memory: ...`` and ``validate step: 10  loss: ...`` (colour codes and the
               ``[titan] <time> - root - INFO -`` prefix are ignored)
modded-nanogpt ``step:N/M train_loss:X train_time:...`` and ``step:N/M val_loss:Y ...`` (records of the speedruns)
llm.c          ``s:N trl:X`` (training; ``lr:L norm:G`` may follow) and ``s:N tel:Y`` (validation)
build-nanogpt  its ``log.txt`` (``N train X``, ``N val Y``, ``N hella Z``) and console (``step     N | loss: X |
               lr L | norm: G | ...``, the ``validation loss: Y`` printed just before its step;
               ``total desired batch size: 524288`` gives the tokens per step)
nanochat       ``step 00017/00020 (85.00%) | loss: X | lrm: M | ...`` (its printed loss is an EMA) and ``Step N |
               Validation bpb: Y`` (bits per byte: the metric ``val_bpb``, not taken as an eval loss);
               ``Total batch size T =>`` gives the tokens per step
olmo           ``[step=N/M,epoch=E]`` and then one indented ``name=value`` line per metric
               (``train/CrossEntropyLoss``, ``throughput/total_tokens``, ``eval/<set>/CrossEntropyLoss``);
               ``Number of non-embedding parameters: ...`` gives N
regex          your own: a regular expression with named groups ``step`` and any of ``loss``, ``eval_loss``,
               ``lr``, ``tokens`` (other named groups become metrics of their own)
=============  ============================================================================================

Lines that are not metrics (startup banners, warnings, samples, a training script's printed source) are ignored
and counted; the first metric line is looked for in the file's first 4 MiB (:data:`SEARCH_BYTES`), not only in
the 64 KiB every format's detector sees. A last line without its
newline is cut off only when it ends where a number could go on (``loss 3.22``); one that ends after its values
(``train_loss:3.2215 train_ti``) is read. A value written as
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
from .limits import MAX_LINE, REGEX_SECONDS, RegexTimeout, check_pattern, time_limit
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
    #: What a user must know about the values of this dialect's logs (said in the ingest's notes).
    note = ""
    #: Role -> the metric that fills it, where the name would not tell (None: no metric of the log is that role).
    keys: dict[str, str | None] = {}
    #: (problem, hint) for a dialect recognised only to be refused with the way out; None: it is read.
    refusal: tuple[str, str] | None = None

    def read(self, line: str, meta: dict) -> dict | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def finish(self, frame: pd.DataFrame, meta: dict) -> pd.DataFrame:
        return frame


class NanoGPT(Dialect):
    name = "nanogpt"
    signature = re.compile(rf"^(iter \d+: loss {_NUM}|step \d+: train loss {_NUM}, val loss {_NUM})", re.M)
    _iter = re.compile(rf"^iter (\d+): loss ({_NUM})")
    _eval = re.compile(rf"^step (\d+): train loss {_NUM}, val loss ({_NUM})")
    # the current line, and the older "total number of tokens per iteration: 655360" (a print of two values)
    _tokens = re.compile(r"^(?:tokens per iteration will be|total number of tokens per iteration):? ([\d,]+)\s*$")
    _params = re.compile(r"^number of parameters: ([\d.]+)M")
    _vocab = re.compile(r"^(?:found vocab_size = (\d+)|defaulting to vocab_size of GPT-2 to (\d+)|"
                        r"forcing vocab_size=(\d+))")
    _config = re.compile(r"^(?:Overriding: )?(n_embd|n_layer|n_head|block_size|vocab_size)\s*=\s*(\d+)\s*(?:#.*)?$")
    _counted = re.compile(r"^num (?:non-)?decayed parameter tensors: \d+, with ([\d,]+) parameters")

    def read(self, line, meta):
        if m := self._iter.match(line):
            return {"step": int(m[1]), "loss": _value(m[2])}
        if m := self._eval.match(line):
            return {"step": int(m[1]), "eval_loss": _value(m[2])}
        if m := self._tokens.match(line):
            meta["tokens_per_step"] = int(m[1].replace(",", ""))
        elif m := self._params.match(line):
            meta["nanogpt_params"] = float(m[1]) * 1e6
        elif m := self._vocab.match(line):
            meta["vocab_size"] = int(next(g for g in m.groups() if g))
        elif m := self._config.match(line):
            meta[f"nanogpt_{m[1]}"] = int(m[2])
        elif m := self._counted.match(line):
            meta["nanogpt_counted"] = meta.get("nanogpt_counted", 0) + int(m[1].replace(",", ""))
        return None

    def finish(self, frame, meta):
        nanogpt_parameters(meta)
        return frame


def nanogpt_parameters(meta: dict) -> None:
    """nanoGPT prints ``number of parameters`` without the position embedding but *with* the token embedding
    (tied to the output layer, so nanoGPT counts it as a weight). N (non-embedding) = printed - vocab × n_embd
    when the log gives both; N_total = the optimizer's count of every parameter when printed (else printed +
    block_size × n_embd). What could not be corrected is said in ``N_note``."""
    printed = meta.pop("nanogpt_params", None)
    counted = meta.pop("nanogpt_counted", None)
    n_embd = meta.pop("nanogpt_n_embd", None)
    vocab = meta.get("vocab_size") or meta.pop("nanogpt_vocab_size", None)
    block = meta.pop("nanogpt_block_size", None)
    for key in ("nanogpt_n_layer", "nanogpt_n_head", "nanogpt_vocab_size"):
        meta.pop(key, None)
    if printed is None:
        return
    if n_embd and vocab:
        meta["N"] = printed - vocab * n_embd
        meta["N_embed_token"] = float(vocab * n_embd)
        meta["N_note"] = (f"nanoGPT's printed count {printed / 1e6:.2f}M less its token embedding "
                          f"(vocab {vocab} x n_embd {n_embd})")
    else:
        meta["N"] = printed
        missing = " and ".join(n for n, v in (("vocab_size", vocab), ("n_embd", n_embd)) if not v)
        meta["N_note"] = (f"nanoGPT's printed count, which includes the token embedding ({missing} not in the log, "
                          "so it could not be taken out: give N in runs.csv)")
        meta["N_flag"] = "N includes the token embedding (nanoGPT's count; vocab_size x n_embd not logged)"
    if counted:
        meta["N_total"] = float(counted)
    elif block and n_embd:
        meta["N_total"] = printed + block * n_embd


class Megatron(Dialect):
    """Megatron-LM's iteration lines, the current ``key: value`` fields and the 2019–2020 ones without a colon
    (``learning rate 3.937E-06 | lm loss 8.995377E+00 |``); ``consumed tokens:`` (Megatron-DeepSpeed) is the
    token count, else consumed samples × ``seq_length`` of the argument dump."""

    name = "megatron"
    signature = re.compile(r"iteration\s+\d+/\s*\d+ \|.*\| (lm loss|lm_loss):? ", re.M | re.I)
    _iteration = re.compile(r"iteration\s+(\d+)/\s*\d+\s*\|(.*)$")
    _validation = re.compile(r"validation (?:loss|results) at iteration (\d+)[^|]*\|(.*)$")
    _field = re.compile(rf"^\s*([A-Za-z][\w ()/-]*?)\s*(?::\s*|\s+)({_NUM})\s*$")
    _argument = re.compile(r"^\s{2}(\w+) \.{3,} (.+?)\s*$")
    _fields = {"lm loss": "loss", "lm_loss": "loss", "learning rate": "lr", "consumed samples": "samples",
               "consumed tokens": "tokens", "global batch size": "batch"}
    _eval_fields = ("lm loss value", "lm_loss value", "lm loss", "lm_loss")

    def read(self, line, meta):
        if m := self._validation.search(line):
            for part in m[2].split("|"):
                if (f := self._field.match(part)) and f[1].strip().lower() in self._eval_fields:
                    return {"step": int(m[1]), "eval_loss": _value(f[2])}
            return None
        if m := self._iteration.search(line):
            row = {"step": int(m[1])}
            for part in m[2].split("|"):
                f = self._field.match(part)
                role = self._fields.get(f[1].strip().lower()) if f else None
                if role:
                    row[role] = _value(f[2])
            return row
        if m := self._argument.match(line):
            meta[m[1]] = m[2]
        return None

    def finish(self, frame, meta):
        seq = meta.get("seq_length")
        if "tokens" not in frame and "samples" in frame and seq is not None and str(seq).isdigit():
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


class ModdedNanoGPT(Dialect):
    """modded-nanogpt records: ``step:N/M train_loss:X train_time:...`` and ``step:N/M val_loss:Y ...``
    (training lines of newer records carry no loss: they are not metric lines)."""

    name = "modded-nanogpt"
    signature = re.compile(rf"^step:\d+/\d+ (?:train|val)_loss:{_NUM}", re.M)
    _line = re.compile(rf"^step:(\d+)/\d+ (train_loss|val_loss):({_NUM})(?:\s|$)")

    def read(self, line, meta):
        if m := self._line.match(line):
            return {"step": int(m[1]), "loss" if m[2] == "train_loss" else "eval_loss": _value(m[3])}
        return None


class LlmC(Dialect):
    """llm.c's ``main.log``: ``s:N trl:X`` (training; newer ones add ``lr:L norm:G``) and ``s:N tel:Y``
    (validation)."""

    name = "llm.c"
    signature = re.compile(rf"^s:\d+ t[re]l:{_NUM}", re.M)
    _line = re.compile(rf"^s:(\d+) (trl|tel):({_NUM})((?: \w+:{_NUM})*)\s*$")
    _extra = re.compile(rf"(\w+):({_NUM})")

    def read(self, line, meta):
        if m := self._line.match(line):
            row = {"step": int(m[1]), "loss" if m[2] == "trl" else "eval_loss": _value(m[3])}
            for key, value in self._extra.findall(m[4]):
                row["grad_norm" if key == "norm" else key] = _value(value)
            return row
        return None


class BuildNanoGPT(Dialect):
    """Karpathy's build-nanogpt (``train_gpt2.py``) and its many copies: the ``log/log.txt`` it writes
    (``N train X``, ``N val Y``, ``N hella Z``) and its console (``step     N | loss: X | lr L | norm: G | dt:
    ... | tok/sec: ...``, with ``validation loss: Y`` and ``HellaSwag accuracy: a/b=Z`` printed just before the
    step they were measured at, without its number); ``total desired batch size: 524288`` is the tokens per
    step, and the optimizer's ``num (non-)decayed parameter tensors: ..., with P parameters`` the total count."""

    name = "build-nanogpt"
    signature = re.compile(rf"^(?:\d+ (?:train|val) {_NUM}$|step +\d+ \| loss: {_NUM} \| lr )", re.M)
    _file = re.compile(rf"^(\d+) (train|val|hella) ({_NUM})\s*$")
    _step = re.compile(rf"^step +(\d+) \| loss: ({_NUM}) \| lr ({_NUM})(?: \| norm: ({_NUM}))?")
    _val = re.compile(rf"^validation loss: ({_NUM})\s*$")
    _hella = re.compile(rf"^HellaSwag accuracy: \d+/\d+=({_NUM})\s*$")
    _batch = re.compile(r"^total desired batch size: (\d+)\s*$")
    _counted = NanoGPT._counted
    _names = {"train": "loss", "val": "eval_loss", "hella": "hellaswag"}

    def read(self, line, meta):
        if m := self._file.match(line):
            return {"step": int(m[1]), self._names[m[2]]: _value(m[3])}
        if m := self._step.match(line):
            row = {"step": int(m[1]), "loss": _value(m[2]), "lr": _value(m[3])}
            if m[4] is not None:
                row["grad_norm"] = _value(m[4])
            row.update(meta.pop("_measured", {}))  # the evaluation printed just before this step
            return row
        if m := self._val.match(line):
            meta.setdefault("_measured", {})["eval_loss"] = _value(m[1])
        elif m := self._hella.match(line):
            meta.setdefault("_measured", {})["hellaswag"] = _value(m[1])
        elif m := self._batch.match(line):
            meta["tokens_per_step"] = int(m[1])
        elif m := self._counted.match(line):
            meta["N_total"] = meta.get("N_total", 0.0) + float(m[1].replace(",", ""))
        return None

    def finish(self, frame, meta):
        meta.pop("_measured", None)  # an evaluation after the last step line (a run stopped there)
        return frame


class Nanochat(Dialect):
    """Karpathy's nanochat (``base_train``, ``mid_train``, ``chat_sft``): ``step 00017/00020 (85.00%) | loss: X |
    lrm: M | dt: ...`` (the loss nanochat prints is its debiased EMA of the training loss, β = 0.9; ``lrm`` the
    learning-rate multiplier) and ``Step 00020 | Validation bpb: Y`` (bits per byte: a metric of its own,
    ``val_bpb``, not an evaluation loss in nats per token); ``Total batch size 524288 =>`` gives the tokens per
    step."""

    name = "nanochat"
    signature = re.compile(rf"^step \d+(?:/\d+)? \({_NUM}%\) \| loss: {_NUM} \| lrm: ", re.M)
    _step = re.compile(rf"^step (\d+)(?:/\d+)? \({_NUM}%\) \| loss: ({_NUM}) \| lrm: ({_NUM})")
    _val = re.compile(rf"^Step (\d+) \| Validation bpb: ({_NUM})\s*$")
    _batch = re.compile(r"^Total batch size ([\d,]+) =>")
    keys = {"eval_loss": None}  # val_bpb is bits per byte, which no conversion makes nats per token
    note = ("nanochat prints an exponential moving average of the training loss (debiased, beta 0.9), read as the "
            "loss; its validation is in bits per byte (val_bpb), not an evaluation loss in nats per token")

    def read(self, line, meta):
        if m := self._step.match(line):
            return {"step": int(m[1]), "loss": _value(m[2]), "lrm": _value(m[3])}
        if m := self._val.match(line):
            return {"step": int(m[1]), "val_bpb": _value(m[2])}
        if m := self._batch.match(line):
            meta["tokens_per_step"] = int(m[1].replace(",", ""))
        return None


class TrainerConsole(Dialect):
    """The Hugging Face Trainer's console prints (``{'loss': 1.63, 'learning_rate': 1.9e-05, 'epoch': 0.22}``):
    recognised in order to be refused with the way out, since they carry no step (only a rounded epoch) and
    the steps cannot be recovered exactly; the run's ``trainer_state.json`` has them."""

    name = "trainer-console"
    signature = re.compile(rf"^\{{'(?:loss|eval_loss)': {_NUM}, .*'epoch': {_NUM}\}}", re.M)
    refusal = ("is the Hugging Face Trainer's console output, whose entries carry no step (only a rounded epoch)",
               "read the run's trainer_state.json instead (in its output_dir, or the last checkpoint-N folder), "
               "or give --regex for lines with a step")

    def read(self, line, meta):
        return None


class OLMo(Dialect):
    """OLMo's console: a ``[step=N/M,epoch=E]`` line, then one indented ``name=value`` line per metric
    (``train/CrossEntropyLoss``, ``throughput/total_tokens``, ``eval/<set>/CrossEntropyLoss`` ...); the
    parameter counts it prints at start-up are the run's N."""

    name = "olmo"
    signature = re.compile(r"\[step=\d+/\d+(?:,epoch=\d+)?\]\s*\n\s{4}[\w/]", re.M)
    _header = re.compile(r"\[step=(\d+)/\d+(?:,epoch=\d+)?\]\s*$")
    _metric = re.compile(rf"^ {{4}}([^=\s][^=]*)=({_NUM})\s*$")
    _params = re.compile(r"(Total number of parameters|Number of non-embedding parameters): ([\d,]+)")
    keys = {"loss": "train/CrossEntropyLoss", "tokens": "throughput/total_tokens"}

    def __init__(self):
        self.row: dict | None = None
        self.step: int | None = None

    def read(self, line, meta):
        if m := self._header.search(line):
            self.step = int(m[1])
            self.row = {"step": self.step}
            return self.row  # filled by the lines below it
        if self.step is not None and (m := self._metric.match(line)):
            if self.row is None:  # an evaluation block after a step: its metrics belong to that step
                self.row = {"step": self.step}
                self.row[m[1]] = _value(m[2])
                return self.row
            self.row[m[1]] = _value(m[2])
            return CONTINUED
        self.row = None
        if m := self._params.search(line):
            count = float(m[2].replace(",", ""))
            meta["N_total" if m[1].startswith("Total") else "N"] = count
            meta["N_note"] = "OLMo's printed non-embedding count"
        return None


#: A line whose values went into a row returned before.
CONTINUED = {}


class Regex(Dialect):
    name = "regex"

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern
        self.signature = pattern

    def read(self, line, meta):
        if len(line) > MAX_LINE:  # no metric line is this long; bounded work per line (see io/limits.py)
            return None
        m = self.pattern.search(line)
        if m is None:
            return None
        row = {"step": int(float(m["step"].replace(",", "")))}
        for key, value in m.groupdict().items():
            if key != "step" and value is not None:
                row[key] = _value(value)
        return row


DIALECTS = (NeoX, Megatron, NanoGPT, TorchTitan, ModdedNanoGPT, LlmC, OLMo, BuildNanoGPT, Nanochat, TrainerConsole)


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
    check_pattern(compiled)
    return compiled


def dialect_of(head: str, regex: re.Pattern | None = None) -> Dialect | None:
    """The dialect whose metric lines appear in ``head`` (the file's beginning), as a fresh reader; a user's
    regex comes first."""
    if regex is not None:
        try:
            with time_limit(REGEX_SECONDS):
                found = any(regex.search(line) for line in head.split("\n") if len(line) <= MAX_LINE)
        except RegexTimeout:
            raise InputError(f"the --regex {regex.pattern!r} takes more than {REGEX_SECONDS:g} s on the first "
                             "lines of a file", hint="simplify it: anchor it, and repeat single character "
                             "classes ('[0-9.]+')") from None
        if found:
            return Regex(regex)
    plain = _ANSI.sub("", head)
    for dialect in DIALECTS:
        if dialect.signature.search(plain):
            return dialect()
    return None


_TEXT_SUFFIXES = ("", ".log", ".txt", ".out", ".err", ".stdout", ".stderr")
#: How far into a text log its first metric line is looked for. Trainers print their source code or a long
#: configuration first: over half of modded-nanogpt's speedrun records start their step lines past the 64 KiB
#: every format's detector sees (one in tests/fixtures/logs/public at 151 KB), an ms-swift console at 284 KB.
SEARCH_BYTES = 4 * 2**20
_SEARCH_TEXT = "first 4 MiB"
_CUT = re.compile(r"[\d.eE+\-,]$|(?<![a-z])(n|na|i|in)$")  # a line ending where a number may go on


def sniff(probe) -> bool:
    """A text file (no NUL byte) whose lines match a dialect; in folders only files with a text-like suffix."""
    if not (probe.path.suffix.lower() in _TEXT_SUFFIXES or probe.regex is not None or probe.named):
        return False
    if b"\x00" in probe.head[:4096]:
        return False
    try:
        if dialect_of(probe.head.decode("utf-8", "replace"), probe.regex) is not None:
            return True
        if len(probe.head) < 65536:  # the head was the whole file
            return False
        return dialect_of(_beginning(probe.path), probe.regex) is not None  # past a long preamble
    except InputError as err:  # a user's regex that takes too long: name the file
        raise err.in_file(probe.path) from None


def _beginning(path: Path) -> str:
    """The first :data:`SEARCH_BYTES` of a file, as text ("" when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(SEARCH_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _complete(dialect: Dialect, line: str) -> bool:
    """Whether a last line without its newline is whole: not a metric line, or one that does not end where a
    number could go on (``loss:3.2215 train_ti`` is whole; ``loss 3.22`` may have been cut)."""
    probe = type(dialect)(dialect.pattern) if isinstance(dialect, Regex) else type(dialect)()
    try:
        if probe.read(line, {}) is None:
            return True
    except ValueError:
        return False
    return not _CUT.search(line.rstrip("%"))


def run_name(path: Path, ctx: ParseContext) -> str:
    stem = path.name.split(".")[0]
    return ctx.run_name(path.parent) if stem.lower() in _GENERIC_NAMES or not stem else stem


def no_match_hint(path: Path, regex: re.Pattern) -> str:
    """What to say when the user's pattern matches no line: the pattern and a line it should have read."""
    sample = next((line.strip() for line in _beginning(path).splitlines() if re.search(r"\d", line)), "")
    shown = f"; a line of the file: {sample[:100]!r}" if sample else ""
    return f"your --regex {regex.pattern!r} matches no line of the file's {_SEARCH_TEXT}{shown}"


def _columns(rows: list[dict]) -> pd.DataFrame:
    """Rows ``{"step": int, name: float, ...}`` as a frame of an int64 step and float columns (NaN: not logged),
    built column by column (a frame of records would be cast cell by cell)."""
    n = len(rows)
    columns: dict[str, np.ndarray] = {"step": np.zeros(n, dtype=np.int64)}
    for i, row in enumerate(rows):
        for key, value in row.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = np.full(n, np.nan)
            column[i] = value
    return pd.DataFrame(columns, copy=False)


def parse(path: Path, ctx: ParseContext) -> list[LogTable]:
    text = read_text(path)
    if not text.strip():
        raise InputError("file is empty", path=path, hint="the run logged nothing yet")
    if ctx.regex is not None:  # a user's pattern: bounded time (see io/limits.py)
        n_lines = text.count("\n") + 1
        try:
            with time_limit(REGEX_SECONDS + 1e-4 * n_lines):
                return _parse(path, text, ctx)
        except RegexTimeout:
            raise InputError(f"the --regex {ctx.regex.pattern!r} takes too long on this file (more than "
                             f"{REGEX_SECONDS + 1e-4 * n_lines:.3g} s)", path=path,
                             hint="simplify it: anchor it, and repeat single character classes ('[0-9.]+')") from None
    return _parse(path, text, ctx)


def _parse(path: Path, text: str, ctx: ParseContext) -> list[LogTable]:
    try:
        dialect = dialect_of(text[:SEARCH_BYTES], ctx.regex)
    except InputError as err:
        raise err.in_file(path) from None
    if dialect is None:
        if ctx.regex is not None:
            raise InputError("no line matches the given --regex", path=path, hint=no_match_hint(path, ctx.regex))
        raise InputError("no metric lines of a known trainer", path=path,
                         hint=f"known: {KNOWN}; for another give --regex")
    if dialect.refusal is not None:
        raise InputError(dialect.refusal[0], path=path, hint=dialect.refusal[1])
    raw = text.split("\n")
    meta: dict = {}
    cut = check_last_line(path, text[-400:].encode(), len(raw), ctx, complete=lambda line: _complete(dialect, line))
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
        if row is CONTINUED:
            continue
        rows.append(row)
        lines.append(number)
    kept = [i for i, r in enumerate(rows) if len(r) > 1]  # a step header whose block held no metric is no row
    rows, lines = [rows[i] for i in kept], [lines[i] for i in kept]
    if not rows:
        raise InputError(f"no metric lines ({dialect.name} dialect)", path=path,
                         hint="the run logged no step yet, or give --regex for this log's lines")
    frame = dialect.finish(_columns(rows), meta)
    run = run_name(path, ctx)
    frame = pd.DataFrame({"run": np.full(len(frame), run, dtype=object),
                          **{c: frame[c].to_numpy() for c in frame.columns}}, copy=False)
    notes = [f"{dialect.name} dialect; {ignored} other lines ignored"]
    if dialect.note:
        ctx.notes.append(f"{path.name}: {dialect.note}")
    keys = {role: role for role in ROLES if role in frame.columns}
    keys.update({role: name for role, name in dialect.keys.items() if name is None or name in frame.columns})
    return [LogTable(frame=frame, path=str(path), format=f"{FORMAT}:{dialect.name}", keys=keys, meta={run: meta}, named_by_path=True,
                     lines=np.asarray(lines), notes=notes, folder=str(path.parent))]


KNOWN = "nanoGPT, build-nanogpt, nanochat, Megatron-LM, GPT-NeoX, torchtitan, modded-nanogpt, llm.c, OLMo"
register_format(LogFormat(FORMAT, f"console logs of {KNOWN} (others with --regex)",
                          parse=parse, sniff=sniff, priority=90))
