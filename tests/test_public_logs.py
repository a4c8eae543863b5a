"""Real public training logs (tests/fixtures/logs/public, one folder per case, provenance in its MANIFEST.md)
read with :func:`scalinglaws.ingest` and checked against a ground truth extracted here, independently of
scalinglaws, with plain ``json``/``csv``/``re``: the number of runs, the steps, every train and eval loss (the
log's own decimal text is the truth), the tokens where the log gives them, and that nothing is dropped without
a line in ``skipped``. Where the right answer is an error (a Git-LFS pointer), the test asks for a one-line
``InputError`` naming the file and saying what it is.

Cases failing on the current code are marked ``xfail(strict=True)`` with the class of issue 19 they exercise
(or "new finding: ..." when the issue does not list it), so the fix makes them fail until the marker goes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import scalinglaws as sl

from .helpers import LOGS

PUBLIC = LOGS / "public"

# ------------------------------------------------------------------------------------------------------------
# Every use of the scalinglaws API is in these helpers: adapting to a renamed API is a change here only.

InputError = sl.InputError


def ingest(path: Path, **options):
    """Read a case (file or folder)."""
    return sl.ingest(path, **options)


def curve_table(result) -> list[dict]:
    """One dict per curve row: run, step, tokens, loss, eval_loss (NaN where not logged)."""
    frame = result.curves
    return [{"run": str(r.run), "step": int(r.step), "tokens": float(r.tokens), "loss": float(r.loss),
             "eval_loss": float(r.eval_loss)} for r in frame.itertuples(index=False)]


def run_rows(result) -> dict[str, dict]:
    """The runs table by run name, each row a dict (``diverged``, ``reason``, ``flags``, ...)."""
    return {str(row["run"]): row for row in result.runs.to_dict("records")}


def skipped_rows(result) -> list[tuple[str, str, int]]:
    """What the ingest left out: (path, reason, count)."""
    return [(str(p), str(r), int(c)) for p, r, c in result.skipped[["path", "reason", "count"]].itertuples(index=False)]


def says_overfitting(run: dict) -> bool:
    """Whether a run's flags tell over-fitting (eval loss rising while train loss falls) apart."""
    text = f"{run.get('reason', '')} {run.get('flags', '')}".lower()
    return "overfit" in text or "over-fit" in text


# ------------------------------------------------------------------------------------------------------------
# Ground truth, extracted from the files with json/csv/re only.

@dataclass
class Run:
    """One run of the truth: step -> value of the training loss, the eval loss and (when derivable) tokens."""

    name: str
    loss: dict[int, float] = field(default_factory=dict)
    eval: dict[int, float] = field(default_factory=dict)
    tokens: dict[int, float] = field(default_factory=dict)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def llmc(path: Path) -> list[Run]:
    """llm.c's main.log: ``s:<step> trl:<train loss>[ lr:<lr> norm:<grad norm>]`` and ``s:<step> tel:<val loss>``."""
    run = Run(path.stem)
    for m in re.finditer(r"^s:(\d+) (trl|tel):(\S+)(?: |$)", _text(path), re.M):
        (run.loss if m[2] == "trl" else run.eval)[int(m[1])] = float(m[3])
    return [run]


def modded(path: Path) -> list[Run]:
    """modded-nanogpt records: ``step:N/M train_loss:X ...`` and ``step:N/M val_loss:Y ...``."""
    run = Run(path.stem)
    for m in re.finditer(r"^step:(\d+)/\d+ (train_loss|val_loss):(\S+) ", _text(path), re.M):
        (run.loss if m[2] == "train_loss" else run.eval)[int(m[1])] = float(m[3])
    return [run]


def nanogpt(path: Path) -> list[Run]:
    """nanoGPT console: ``iter N: loss X,`` and ``step N: train loss A, val loss B``; tokens from the
    ``tokens per iteration will be: T`` line."""
    text = _text(path)
    run = Run(path.parent.name)
    for m in re.finditer(r"^iter (\d+): loss ([^,]+),", text, re.M):
        run.loss[int(m[1])] = float(m[2])
    for m in re.finditer(r"^step (\d+): train loss [^,]+, val loss (\S+)$", text, re.M):
        run.eval[int(m[1])] = float(m[2])
    per = re.search(r"^tokens per iteration will be: ([\d,]+)$", text, re.M)
    if per:
        tps = int(per[1].replace(",", ""))
        run.tokens = {s: float(s * tps) for s in {*run.loss, *run.eval}}
    return [run]


def build_nanogpt(path: Path) -> list[Run]:
    """build-nanogpt: its ``log.txt`` (``N train X`` / ``N val Y``) or its console (``step     N | loss: X |
    ...``, ``validation loss: Y`` on the line before the step it belongs to; tokens per step from ``total
    desired batch size: T``)."""
    text = _text(path)
    run = Run(path.parent.name)
    for m in re.finditer(r"^(\d+) (train|val) (\S+)$", text, re.M):
        (run.loss if m[2] == "train" else run.eval)[int(m[1])] = float(m[3])
    pending = None
    for line in text.splitlines():
        if m := re.match(r"^validation loss: (\S+)$", line):
            pending = float(m[1])
        elif m := re.match(r"^step +(\d+) \| loss: (\S+) \|", line):
            run.loss[int(m[1])] = float(m[2])
            if pending is not None:
                run.eval[int(m[1])], pending = pending, None
    if per := re.search(r"^total desired batch size: (\d+)$", text, re.M):
        run.tokens = {s: float(s * int(per[1])) for s in {*run.loss, *run.eval}}
    return [run]


def nanochat(path: Path) -> list[Run]:
    """nanochat: ``step 00017/00020 (85.00%) | loss: X | ...``; ``Validation bpb`` is bits per byte, no eval loss;
    tokens per step from ``Total batch size T =>``."""
    text = _text(path)
    run = Run(path.stem)
    for m in re.finditer(r"^step (\d+)(?:/\d+)? \([\d.]+%\) \| loss: (\S+) \|", text, re.M):
        run.loss[int(m[1])] = float(m[2])
    if per := re.search(r"^Total batch size (\d+) =>", text, re.M):
        run.tokens = {s: float(s * int(per[1])) for s in run.loss}
    return [run]


def olmo(path: Path) -> list[Run]:
    """OLMo's console: a ``[step=N/M,epoch=E]`` line, then indented ``name=value`` lines."""
    run, step = Run(path.parent.name), None
    for line in _text(path).splitlines():
        if m := re.search(r"\[step=(\d+)/\d+,epoch=\d+\]$", line):
            step = int(m[1])
        elif step is not None and (m := re.match(r"^    ([\w/ ()]+)=(\S+)$", line)):
            if m[1] == "train/CrossEntropyLoss":
                run.loss[step] = float(m[2])
            elif m[1] == "throughput/total_tokens":
                run.tokens[step] = float(m[2].replace(",", ""))
        else:
            step = None
    return [run]


def megatron(path: Path) -> list[Run]:
    """Megatron-LM console: ``iteration N/ M | ... | consumed tokens: T | ... | lm loss: X |`` and
    ``validation loss at iteration N | lm loss value: Y |`` (whatever the launcher's line prefix)."""
    run = Run(path.stem)
    for line in _text(path).splitlines():
        if m := re.search(r"validation loss at iteration (\d+) \| lm loss value: (\S+) \|", line):
            run.eval[int(m[1])] = float(m[2])
        elif m := re.search(r" iteration\s+(\d+)/\s*\d+ \|", line):
            fields = dict(part.strip().split(": ", 1) for part in line.split("|")[1:] if ": " in part)
            run.loss[int(m[1])] = float(fields["lm loss"])
            if "consumed tokens" in fields:
                run.tokens[int(m[1])] = float(fields["consumed tokens"])
    return [run]


def torchtitan(path: Path) -> list[Run]:
    """torchtitan's metrics line ``step: N  loss: X  ...`` (whatever the logger prefix)."""
    run = Run(path.stem)
    for m in re.finditer(r"\] step:\s*(\d+)\s+loss:\s*(\S+)\s", _text(path)):
        run.loss[int(m[1])] = float(m[2])
    return [run]


def hf_state(path: Path) -> Run:
    """A ``trainer_state.json``: training entries (``loss``), eval entries (``eval_loss``), tokens from
    ``num_input_tokens_seen`` or TRL's ``num_tokens`` / ``eval_num_tokens``; the final summary (``train_loss``,
    the run's mean) is not a point."""
    run = Run(path.parent.name)
    for entry in json.loads(_text(path))["log_history"]:
        if "step" not in entry:  # the Trainer's step-less predict_* entries: a test-set score, not a curve point
            continue
        step = entry["step"]
        if "loss" in entry:
            run.loss[step] = float(entry["loss"])
        if "eval_loss" in entry:
            run.eval[step] = float(entry["eval_loss"])
        for key in ("num_input_tokens_seen", "num_tokens", "eval_num_tokens"):
            if key in entry and ("loss" in entry or "eval_loss" in entry):
                run.tokens[step] = float(entry[key])
    return run


def hf_states(path: Path) -> list[Run]:
    """Every ``trainer_state.json`` below a folder, each its own run."""
    return [hf_state(p) for p in sorted(path.rglob("trainer_state.json"))]


def lightning(path: Path) -> list[Run]:
    """Lightning ``metrics.csv`` files (not ``.ipynb_checkpoints`` copies): ``train_loss_step`` is the curve,
    ``val_loss`` the eval loss."""
    out = []
    for file in sorted(p for p in path.rglob("metrics.csv") if ".ipynb_checkpoints" not in p.parts):
        run = Run(file.parent.name)
        for row in csv.DictReader(io.StringIO(_text(file))):
            if row.get("train_loss_step"):
                run.loss[int(row["step"])] = float(row["train_loss_step"])
            if row.get("val_loss"):
                run.eval[int(row["step"])] = float(row["val_loss"])
        out.append(run)
    return out


def wandb_panel(path: Path) -> list[Run]:
    """A W&B panel export: first column the step, then ``<run> - <metric>`` (+ ``__MIN``/``__MAX``)."""
    rows = list(csv.reader(io.StringIO(_text(path))))
    runs: dict[str, Run] = {}
    for j, column in enumerate(rows[0][1:], start=1):
        m = re.fullmatch(r"(.+) - (.+)", column)
        if m is None or column.endswith(("__MIN", "__MAX")):
            continue
        run = runs.setdefault(m[1], Run(m[1]))
        target = run.eval if re.search(r"val|eval", m[2]) else run.loss
        for row in rows[1:]:
            if row[j] != "":
                target[int(row[0])] = float(row[j])
    return list(runs.values())


def wandb_runs_table(path: Path) -> list[Run]:
    """A W&B *runs table* export: one row per run (``Name``, ``Created``, config, and the last logged values);
    ``iter`` is the step of ``train/loss`` and ``val/loss``. Rows of one name are different runs (seeds)."""
    out = []
    for row in csv.DictReader(io.StringIO(_text(path))):
        run = Run(f"{row['Name']}@{row['Created']}")
        run.loss[int(row["iter"])] = float(row["train/loss"])
        run.eval[int(row["iter"])] = float(row["val/loss"])
        out.append(run)
    return out


def mlflow(path: Path) -> list[Run]:
    """MLflow file-store runs: ``metrics/<key>`` files of ``<timestamp> <value> <step>`` lines."""
    out = []
    for meta in sorted(path.rglob("meta.yaml")):
        metrics = meta.parent / "metrics"
        if not metrics.is_dir():
            continue
        run = Run(meta.parent.name)
        for file in metrics.iterdir():
            target = run.eval if re.search(r"val|eval", file.name) else run.loss if "loss" in file.name else None
            for line in _text(file).splitlines():
                _, value, step = line.split()
                if target is not None:
                    target[int(step)] = float(value)
        out.append(run)
    return out


def regex(pattern: str) -> Callable[[Path], list[Run]]:
    """A custom log read with a pattern naming ``step`` and ``loss``."""
    def extract(path: Path) -> list[Run]:
        run = Run(path.stem)
        for m in re.finditer(pattern, _text(path), re.M):
            run.loss[int(m["step"])] = float(m["loss"])
        return [run]
    return extract


# ------------------------------------------------------------------------------------------------------------
# The cases.

@dataclass
class Case:
    path: str  # below tests/fixtures/logs/public
    truth: Callable[[Path], list[Run]] | None = None  # None: the right answer is an error
    source: str | None = None  # the file the truth is read from (default: path)
    error: tuple[str, ...] = ()  # words the one-line InputError must hold (besides the file's name)
    error_file: str | None = None  # the file the error must name
    refuse_or_skip: tuple[str, str] | None = None  # (file, word): an InputError or a skipped line, no run
    must_skip: tuple[str, ...] = ()  # files that must be listed in skipped
    regex: str | None = None  # the user's pattern for a custom log
    checks: tuple[str, ...] = ()  # extra checks: "diverged", "not_diverged_overfit"
    xfail: str | None = None


def XF(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


CASES: dict[str, Case] = {
    # llm.c and modded-nanogpt (KellerJordan/modded-nanogpt)
    "llmc-modded-adamw": Case("llmc-modded-adamw/f66d43d7-e449-4029-8adf-e8537bab49ea.log", llmc),
    "llmc-modded-gpt2medium-evalonly": Case("llmc-modded-gpt2medium-evalonly/main.log", llmc),
    "llmc-modded-llmc-lr-norm": Case("llmc-modded-llmc-lr-norm/main.log", llmc),
    "modded-nanogpt-record-trainloss": Case(
        "modded-nanogpt-record-trainloss/22d24867-eb5a-4fcc-ae2c-263d0277dfd1.txt", modded),
    "modded-nanogpt-record-valonly": Case(
        "modded-nanogpt-record-valonly/e6969115-4597-4d60-8566-efdd0c243d10.txt", modded),
    "modded-nanogpt-2026-final-eval": Case(
        "modded-nanogpt-2026-final-eval/seed42.log", modded),
    "build-nanogpt-logtxt": Case("build-nanogpt-logtxt/log.txt", build_nanogpt),
    "build-nanogpt-console": Case("build-nanogpt-console/train.log", build_nanogpt),
    "nanochat-base-train": Case("nanochat-base-train/nanobot_run.log", nanochat),
    "modded-nanogpt-record-code-header": Case(  # its first step line is 151 KB in, after the script's source
        "modded-nanogpt-record-code-header/11cb620c-daaf-4e85-83fc-258a5eb7ba09.txt", modded),
    # nanoGPT, torchtitan, OLMo consoles
    "nanogpt-shakespeare-nan": Case("nanogpt-shakespeare-nan/train.log", nanogpt, checks=("diverged",)),
    "torchtitan-aurora-ezpz": Case("torchtitan-aurora-ezpz/tt-bc.log", torchtitan),
    "megatron-deepspeed-pdsh": Case("megatron-deepspeed-pdsh/eth_real_qwen25_7b_tp2pp2dp2_baseline.log", megatron),
    "olmo-console": Case("olmo-console/training.log", olmo),
    # custom logs: refused without a pattern, read with one
    "custom-loguru-gpt2": Case("custom-loguru-gpt2/log/train_log.txt",
                               regex(r"batch_index=(?P<step>\d+) loss=(?P<loss>[0-9.]+)$"),
                               regex=r"batch_index=(?P<step>\d+) loss=(?P<loss>[0-9.]+)$"),
    "custom-ep-batch-ntokens": Case("custom-ep-batch-ntokens/train.log",
                                    regex(r"batch: (?P<step>\d+),.* loss: (?P<loss>[0-9.]+)$"),
                                    regex=r"batch: (?P<step>\d+),.* loss: (?P<loss>[0-9.]+)$"),
    # Hugging Face Trainer / TRL
    "hf-verifier-qwen05": Case("hf-verifier-qwen05", hf_states),
    "hf-trl-num-tokens": Case("hf-trl-num-tokens", hf_states),
    "hf-two-runs-one-folder": Case("hf-two-runs-one-folder", hf_states),
    "hf-whisper-checkpoint-prefix": Case("hf-whisper-checkpoint-prefix", lambda p: [hf_state(p / "trainer_state.json")],
                                         must_skip=("last-checkpoint/trainer_state.json",)),
    "hf-cpt-predict-entries": Case("hf-cpt-predict-entries", hf_states),
    "hf-trl-grpo-zero-loss": Case("hf-trl-grpo-zero-loss", hf_states),
    "hf-summary-only": Case("hf-summary-only", refuse_or_skip=("trainer_state.json", "loss")),
    "hf-trainer-console": Case("hf-trainer-console/train_log.txt",  # no step in its entries: refused, with a way
                               refuse_or_skip=("train_log.txt", "carry no step")),
    "hf-whisper-overfit": Case("hf-whisper-overfit", hf_states, checks=("not_diverged_overfit",)),
    "hf-whisper-folder-with-lfs-events": Case(
        "hf-whisper-folder-with-lfs-events", hf_states, source="hf-whisper-folder-with-lfs-events",
        must_skip=("events.out.tfevents.1674944078.gpu07.cyverse.org.12415.0",)),
    "lfs-pointer-tfevents": Case(
        "lfs-pointer-tfevents", None, error=("lfs",),
        error_file="events.out.tfevents.1674944078.gpu07.cyverse.org.12415.0"),
    # Lightning
    "lightning-slm-ipynb": Case("lightning-slm-ipynb", lightning, must_skip=("metrics-checkpoint.csv",)),
    "lightning-slm-two-versions": Case("lightning-slm-two-versions", lightning),
    "lightning-cli-dice-zero-loss": Case(
        "lightning-cli-dice-zero-loss", lightning),
    # W&B
    "wandb-csv-nanogpt-8runs": Case("wandb-csv-nanogpt-8runs/wandb_export.csv", wandb_panel),
    "wandb-runs-table-export": Case(
        "wandb-runs-table-export/wandb_export.csv", wandb_runs_table),
    "wandb-runfolder-rl-noloss": Case(
        "wandb-runfolder-rl-noloss", refuse_or_skip=("wandb-history.jsonl", "loss"),
        must_skip=("wandb-events.jsonl",)),
    # MLflow
    "mlflow-single-step0": Case("mlflow-single-step0", mlflow),
    "mlflow-no-loss": Case("mlflow-no-loss", refuse_or_skip=("38737742e8da4097ae97cf21f7de93e6", "loss")),
}


def _params():
    for name, case in CASES.items():
        marks = [XF(case.xfail)] if case.xfail else []
        yield pytest.param(name, marks=marks, id=name)


# ------------------------------------------------------------------------------------------------------------
# The checks.

def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def _by_run(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["run"], []).append(row)
    return out


def _values(rows: list[dict], column: str) -> dict[int, float]:
    """step -> value where the column was logged (NaN-valued logged points are kept when the truth has NaN)."""
    return {r["step"]: r[column] for r in rows if not math.isnan(r[column])}


def _match(truths: list[Run], got: dict[str, list[dict]]) -> dict[str, str]:
    """Pair each truth run with the ingested run holding most of its (step, loss) points."""
    pairs, free = {}, set(got)
    for run in truths:
        points = {**{("l", s): v for s, v in run.loss.items()}, **{("e", s): v for s, v in run.eval.items()}}

        def score(name):
            rows = {r["step"]: r for r in got[name]}
            return sum(1 for (kind, s), v in points.items() if s in rows
                       and _same(rows[s]["loss" if kind == "l" else "eval_loss"], v))
        best = max(sorted(free), key=score, default=None)
        assert best is not None and score(best) > 0, f"no ingested run holds the values of {run.name}"
        pairs[run.name] = best
        free.discard(best)
    return pairs


def _compare(label: str, want: dict[int, float], got_rows: list[dict], column: str) -> None:
    got = {r["step"]: r[column] for r in got_rows}
    logged = {s for s, v in got.items() if not math.isnan(v)}
    want_logged = {s for s, v in want.items() if not math.isnan(v)}
    assert logged == want_logged, (f"{label}: steps with {column} differ: missing {sorted(want_logged - logged)[:8]},"
                                   f" extra {sorted(logged - want_logged)[:8]}")
    for step, value in want.items():
        assert step in got, f"{label}: step {step} ({column}) absent from the curves"
        assert _same(got[step], value), f"{label}: step {step} {column} = {got[step]!r}, the log says {value!r}"


def _check_truth(case: Case, result, truths: list[Run]) -> None:
    rows = curve_table(result)
    got = _by_run(rows)
    assert len(run_rows(result)) == len(truths), (f"{len(run_rows(result))} runs ingested "
                                                 f"({sorted(run_rows(result))}), the logs hold {len(truths)}")
    pairs = _match(truths, got)
    for run in truths:
        mine = got[pairs[run.name]]
        _compare(run.name, run.loss, mine, "loss")
        _compare(run.name, run.eval, mine, "eval_loss")
        if run.tokens:
            by_step = {r["step"]: r["tokens"] for r in mine}
            for step, tokens in run.tokens.items():
                assert _same(by_step[step], tokens), f"{run.name}: tokens at step {step} = {by_step[step]}, want {tokens}"


def _check_skipped(case: Case, result) -> None:
    listed = skipped_rows(result)
    for name in case.must_skip:
        hits = [(p, r, c) for p, r, c in listed if Path(p).name == name or p.endswith(name)]
        assert hits and all(c >= 1 for *_, c in hits), f"{name} is not listed in skipped: {listed}"


def _check_error(case: Case, error: InputError) -> None:
    text = str(error)
    assert "\n" not in text.strip(), f"the error is not one line: {text!r}"
    assert case.error_file in text, f"the error does not name {case.error_file}: {text}"
    said = text.split(case.error_file, 1)[1]  # what is said of the file, not its path
    for word in case.error:
        assert word.lower() in said.lower(), f"the error does not say {word!r}: {text}"


def _check_refused_or_skipped(case: Case, path: Path) -> None:
    name, word = case.refuse_or_skip
    try:
        result = ingest(path)
    except InputError as err:
        text = str(err)
        assert name in text and word in text.lower(), f"refused for another reason: {text}"
        assert "\n" not in text.strip()
        return
    hits = [(p, r, c) for p, r, c in skipped_rows(result) if name in p and word in r.lower()]
    assert hits, f"{name} was read as a run without a word: {result.runs[['run', 'rows']].to_dict('records')}"
    assert not any(name in str(row.get("source", "")) for row in run_rows(result).values()), \
        f"{name} is both skipped and a run"


@pytest.mark.parametrize("case_name", list(_params()))
def test_public_log(case_name):
    case = CASES[case_name]
    path = PUBLIC / case.path
    if case.refuse_or_skip:
        _check_refused_or_skipped(case, path)
        if case.must_skip:  # the folder's other files must not stop it either
            try:
                _check_skipped(case, ingest(path))
            except InputError as err:
                pytest.fail(f"the folder is stopped by {err}")
        return
    if case.truth is None:
        with pytest.raises(InputError) as err:
            ingest(path)
        _check_error(case, err.value)
        return
    if case.regex:  # refused without the pattern, with a hint to give one
        with pytest.raises(InputError, match="regex"):
            ingest(path)
    truths = case.truth(PUBLIC / (case.source or case.path))
    assert truths and any(r.loss or r.eval for r in truths), "the truth extractor found nothing"
    result = ingest(path, regex=case.regex) if case.regex else ingest(path)
    _check_truth(case, result, truths)
    _check_skipped(case, result)
    runs = run_rows(result)
    if "diverged" in case.checks:
        assert all(r["diverged"] for r in runs.values()), "a run with NaN losses is not flagged as diverged"
    if "not_diverged_overfit" in case.checks:
        for run in runs.values():
            assert not run["diverged"], f"over-fitting reported as divergence: {run['reason']}"
            assert says_overfitting(run), f"over-fitting not told: {run['flags']!r}"


def test_manifest_lists_every_case():
    """Each case folder has a MANIFEST row (repository, path, commit, license, format, trimming, notes)."""
    manifest = (PUBLIC / "MANIFEST.md").read_text(encoding="utf-8")
    folders = {p.name for p in PUBLIC.iterdir() if p.is_dir()}
    listed = set(re.findall(r"^\| `([^`]+)` \|", manifest, re.M))
    assert folders == listed, f"folders without a row: {sorted(folders - listed)}; rows without a folder: " \
                              f"{sorted(listed - folders)}"
    assert {c.path.split("/")[0] for c in CASES.values()} == folders
