"""Classes of issue 19 that the public corpus has no real file for (tests/fixtures/logs/public/MANIFEST.md):
logs written by the real libraries (tests/fixtures/logs/generated, by tests/fixtures/make_real_logs.py) or by
hand in the tools' published formats (tests/fixtures/logs/written, see its README), and the behaviours of points,
checks, hints and folders. Every truth here is read from the files with csv/json/re, not through scalinglaws."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl

from .helpers import LOGS, run_cli

GENERATED = LOGS / "generated"
WRITTEN = LOGS / "written"


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _curve(result, run: str, column: str) -> dict:
    mine = result.curves[result.curves["run"] == run]
    return {int(s): float(v) for s, v in zip(mine["step"], mine[column]) if not math.isnan(v)}


# ------------------------------------------------------------------------------------ console and table formats

def test_megatron_2019_lines_without_colons():
    path = WRITTEN / "megatron-2019" / "gpt2_345m.log"
    text = path.read_text()
    train = {int(m[1]): float(m[2]) for m in re.finditer(r"iteration\s+(\d+)/.*\| lm loss (\S+) \|", text)}
    evals = {int(m[1]): float(m[2]) for m in re.finditer(r"validation loss at iteration (\d+) \| LM loss: (\S+) ", text)}
    lrs = {int(m[1]): float(m[2]) for m in re.finditer(r"iteration\s+(\d+)/.*\| learning rate (\S+) \|", text)}
    result = sl.ingest(path)
    assert result.files["format"].tolist() == ["text:megatron"]
    assert _curve(result, "gpt2_345m", "loss") == train and _curve(result, "gpt2_345m", "eval_loss") == evals
    assert _curve(result, "gpt2_345m", "lr") == lrs
    seq, batch = (int(re.search(rf"  {k} \.+ (\d+)", text)[1]) for k in ("seq_length", "batch_size"))
    assert _curve(result, "gpt2_345m", "tokens") == {s: float(s * seq * batch) for s in train}


def test_tables_saved_as_log_and_txt_are_read_by_content(tmp_path):
    tsv, txt = WRITTEN / "tables-as-text" / "train.log", WRITTEN / "tables-as-text" / "metrics.txt"
    rows = list(csv.DictReader(tsv.open(), delimiter="\t"))
    result = sl.ingest(tsv)
    assert result.files["format"].tolist() == ["table"]
    assert _curve(result, "train", "loss") == {int(r["step"]): float(r["train_loss"]) for r in rows}
    assert _curve(result, "train", "eval_loss") == {int(r["step"]): float(r["val_loss"]) for r in rows if r["val_loss"]}
    rows = _rows(txt)
    result = sl.ingest(txt)
    assert _curve(result, "metrics", "tokens") == {int(r["iteration"]): float(r["tokens"]) for r in rows}
    prose = tmp_path / "notes.txt"  # a text with commas is not a table
    prose.write_text("step, we trained\nthen, it went well, mostly\nand, then, stopped\n")
    with pytest.raises(sl.InputError, match="cannot tell"):
        sl.ingest(prose)


def test_nanogpt_older_tokens_line_and_parameter_count_without_the_token_embedding():
    path = WRITTEN / "nanogpt-2023" / "train.log"
    text = path.read_text()
    tps = int(re.search(r"^total number of tokens per iteration: (\d+)$", text, re.M)[1])
    printed = float(re.search(r"^number of parameters: ([\d.]+)M$", text, re.M)[1]) * 1e6
    vocab = int(re.search(r"^found vocab_size = (\d+)", text, re.M)[1])
    n_embd = int(re.search(r"^n_embd = (\d+)$", text, re.M)[1])
    every = sum(int(m.replace(",", "")) for m in re.findall(r"tensors: \d+, with ([\d,]+) parameters", text))
    result = sl.ingest(path)
    run = result.runs.iloc[0]
    assert run["tokens_per_step"] == tps
    steps = _curve(result, "nanogpt-2023", "loss")
    assert _curve(result, "nanogpt-2023", "tokens") == {s: float(s * tps) for s in {*steps,
                                                       *_curve(result, "nanogpt-2023", "eval_loss")}}
    assert run["N"] == printed - vocab * n_embd and "less its token embedding" in run["N_source"]
    assert sl.ingest(path, params="total").runs.iloc[0]["N"] == every


def test_regex_that_matches_nothing_says_so(tmp_path, capsys):
    log = tmp_path / "train.log"
    log.write_text("epoch 1 | batch 10 | loss=4.5\nepoch 1 | batch 20 | loss=4.1\n")
    code, _, err = run_cli(capsys, "ingest", log, "--regex", r"step (?P<step>\d+) loss (?P<loss>\S+)")
    assert code == 2 and "matches no line" in err and "batch 10" in err and "give --regex" not in err


def test_a_folder_of_an_unknown_console_log_points_to_regex(tmp_path, capsys):
    (tmp_path / "train.log").write_text("epoch 1 | batch 10 | loss=4.5\nepoch 1 | batch 20 | loss=4.1\n")
    code, _, err = run_cli(capsys, "ingest", tmp_path)
    assert code == 2 and "1 file was left out: train.log" in err and "--regex" in err
    assert len(err.strip().splitlines()) == 1


def test_the_trainers_console_prints_are_refused_with_the_way_out(tmp_path, capsys):
    """The Trainer's console dicts carry a rounded epoch and no step: refused in one line that names the
    trainer_state.json to read instead (not "cannot tell what kind of log this is")."""
    log = tmp_path / "stdout.txt"
    log.write_text("{'loss': 1.6282, 'learning_rate': 1.86e-05, 'epoch': 0.22}\n"
                   "{'eval_loss': 0.00121, 'eval_runtime': 16.8, 'epoch': 1.0}\n")
    code, _, err = run_cli(capsys, "ingest", log)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "console output" in err and "no step" in err and "trainer_state.json" in err


def test_nanochat_bits_per_byte_are_no_evaluation_loss(tmp_path):
    """nanochat's validation is in bits per byte: not taken as the eval loss (unless the user says so), and the
    notes say what its printed loss is."""
    log = tmp_path / "base.log"
    log.write_text("Total batch size 524,288 => gradient accumulation steps: 1\nStep 00000 | Validation bpb: 3.3420\n"
                   + "".join(f"step {s:05d}/00002 ({50 * s:.2f}%) | loss: {10 - s:.6f} | lrm: 1.00 | dt: 1.0ms\n"
                             for s in range(3)) + "Step 00002 | Validation bpb: 3.3247\n")
    result = sl.ingest(log)
    assert _curve(result, "base", "loss") == {0: 10.0, 1: 9.0, 2: 8.0} and _curve(result, "base", "eval_loss") == {}
    assert _curve(result, "base", "tokens") == {0: 0.0, 1: 524288.0, 2: 1048576.0}
    assert any("bits per byte" in note and "moving average" in note for note in result.notes)
    chosen = sl.ingest(log, keys={"eval_loss": "val_bpb"})
    assert _curve(chosen, "base", "eval_loss") == {0: 3.342, 2: 3.3247}


def _preamble(size: int) -> str:
    """Lines of a training script printed before the run starts (as modded-nanogpt's records do)."""
    line = "    x = torch.nn.functional.rms_norm(x, (x.size(-1),))  # printed source, no metric\n"
    return "import torch\n" + line * (size // len(line) + 1)


@pytest.mark.parametrize("where", ["named", "in a folder"])
def test_metric_lines_after_a_long_preamble_are_found(tmp_path, where):
    """A log whose first metric line is far past the 64 KiB every detector sees (the script's source printed
    first) is recognised, named or met in a folder; the preamble's lines are ignored and counted."""
    lines = [f"step:{s}/100 val_loss:{4 - s / 100:.4f} train_time:{s}ms step_avg:1.00ms" for s in range(0, 101, 25)]
    log = tmp_path / "run" / "0c1d.txt"
    log.parent.mkdir()
    log.write_text(_preamble(600_000) + "\n".join(lines) + "\n")
    result = sl.ingest(log if where == "named" else tmp_path)
    curve = result.curves.set_index("step")["eval_loss"]
    assert curve.to_dict() == {s: float(f"{4 - s / 100:.4f}") for s in range(0, 101, 25)}
    assert result.files["format"].tolist() == ["text:modded-nanogpt"]
    assert f"{_preamble(600_000).count(chr(10))} other lines ignored" in result.files["notes"][0]


def test_a_regex_is_tried_past_a_long_preamble(tmp_path, capsys):
    log = tmp_path / "stdout.log"
    log.write_text(_preamble(300_000) + "".join(f"{{'loss': '{3 - s / 10:.3f}', 'global_step/max_steps': '{s}/5'}}\n"
                                                for s in range(1, 6)))
    pattern = r"'loss': '(?P<loss>[\d.]+)', 'global_step/max_steps': '(?P<step>\d+)/"
    code, out, err = run_cli(capsys, "ingest", log, "--regex", pattern)
    assert code == 0, err
    assert sl.ingest(log, regex=pattern).curves["loss"].tolist() == [2.9, 2.8, 2.7, 2.6, 2.5]


def test_metric_lines_past_the_search_limit_are_refused_with_the_limit(tmp_path, capsys):
    from scalinglaws.io.textlog import SEARCH_BYTES

    log = tmp_path / "late.log"
    log.write_text(_preamble(SEARCH_BYTES + 1000) + "step:0/10 val_loss:4.0000 train_time:0ms step_avg:0ms\n")
    code, _, err = run_cli(capsys, "ingest", log, "--regex", r"step:(?P<step>\d+)/\d+ val_loss:(?P<eval_loss>\S+)")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "first 4 MiB" in err and str(log.name) in err


# ------------------------------------------------------------------------------------------------ Lightning

def test_lightning_ddp_tokens_count_every_device():
    folder = GENERATED / "lightning-ddp-cli"
    version = folder / "tiny" / "version_0"
    config = (version / "config.yaml").read_text()
    devices = int(re.search(r"^  devices: '?(\d+)'?$", config, re.M)[1])
    accum = int(re.search(r"^  accumulate_grad_batches: (\d+)$", config, re.M)[1])
    batch = int(re.search(r"^batch_size: (\d+)$", (version / "hparams.yaml").read_text(), re.M)[1])
    seq = int(re.search(r"^seq_len: (\d+)$", (version / "hparams.yaml").read_text(), re.M)[1])
    assert devices == 2
    result = sl.ingest(folder)
    run = result.runs.iloc[0]
    assert run["tokens_per_step"] == batch * accum * devices * seq and not run["flags"]
    truth = {int(r["step"]): float(r["train_loss_step"]) for r in _rows(version / "metrics.csv") if r["train_loss_step"]}
    assert _curve(result, run["run"], "loss") == truth


def test_lightning_without_a_device_count_is_flagged(tmp_path):
    copy = shutil.copytree(GENERATED / "lightning-ddp-cli", tmp_path / "run")
    (copy / "tiny" / "version_0" / "config.yaml").unlink()  # hparams.yaml alone: the batch is per device
    run = sl.ingest(copy).runs.iloc[0]
    assert "tokens assume 1 device" in run["flags"]


def test_lightning_version_resuming_another_is_one_run():
    folder = GENERATED / "lightning-resume"
    first, second = (_rows(folder / "tiny" / v / "metrics.csv") for v in ("version_0", "version_1"))
    start = min(int(r["step"]) for r in second)
    truth = {int(r["step"]): float(r["train_loss_step"]) for r in first if r["train_loss_step"] and int(r["step"]) < start}
    truth.update({int(r["step"]): float(r["train_loss_step"]) for r in second if r["train_loss_step"]})
    result = sl.ingest(folder)
    assert len(result.runs) == 1
    assert _curve(result, result.runs["run"].iloc[0], "loss") == truth
    skipped = result.skipped.set_index("reason")
    assert "Lightning versions continued by a later version (read as one run with it)" in skipped.index
    assert any("resumed from checkpoints" in note for note in result.notes)


# ------------------------------------------------------------------------------------------ HF and W&B exports

def test_several_eval_sets_any_metric_by_key_and_the_error_lists_them(capsys):
    folder = GENERATED / "hf-eval-sets"
    history = json.loads((folder / "trainer_state.json").read_text())["log_history"]
    code_loss = {e["step"]: e["eval_code_loss"] for e in history if "eval_code_loss" in e}
    assert code_loss and not any("eval_loss" in e for e in history)
    result = sl.ingest(folder)
    assert any("could be the eval_loss" in n and "eval_code_loss" in n for n in result.notes)  # the guess is said
    picked = sl.ingest(folder, keys={"eval_loss": "eval_code_loss"})
    assert _curve(picked, "hf-eval-sets", "eval_loss") == code_loss
    code, _, err = run_cli(capsys, "ingest", folder, "--key", "eval_loss=eval_nope_loss")
    assert code == 2 and "eval_wiki_loss" in err and "eval_code_loss" in err and "files table" not in err


def test_wandb_panel_export_with_an_epoch_axis_reads_each_runs_step():
    path = next((WRITTEN / "wandb-epoch-axis").glob("*.csv"))
    rows = list(csv.DictReader(path.open()))
    result = sl.ingest(path)
    for run in ("resnet-s", "resnet-m"):
        truth = {int(r[f"{run} - _step"]): float(r[f"{run} - train/loss"]) for r in rows if r[f"{run} - _step"]}
        assert _curve(result, run, "loss") == truth
    assert any("x axis is 'epoch'" in note for note in result.notes)


def test_zero_loss_is_kept_flagged_and_left_out_of_points():
    result = sl.ingest(LOGS / "public" / "hf-trl-grpo-zero-loss")
    run = result.runs.iloc[0]
    assert result.curves["loss"].tolist() == [0.0] and "<= 0" in run["flags"]
    points = result.points(require=())
    assert points["exclude"].all() and "not a cross-entropy" in points["reason"].iloc[0]


# ------------------------------------------------------------------------------------------------------ points

def _sweep(eval_steps, last=5000, every=10) -> tuple[pd.DataFrame, pd.DataFrame]:
    steps = np.arange(0, last + 1, every)
    train = 3.0 + 8.0 / (1 + steps / 100)
    curves = pd.DataFrame({"run": "a", "step": steps, "tokens": steps * 1e5, "loss": train, "lr": np.nan,
                           "eval_loss": np.where(np.isin(steps, eval_steps), train + 0.05, np.nan)})
    runs = pd.DataFrame({"run": ["a"], "N": [1e8], "diverged": [False], "reason": [""]})
    return curves, runs


def test_ema_is_a_window_of_steps_not_of_logged_values():
    curves, runs = _sweep(eval_steps=[0, 1000, 2000, 3000, 4000, 5000])
    final = sl.points_from_curves(curves, runs, metric="eval").iloc[0]
    ema = sl.points_from_curves(curves, runs, metric="eval", how="ema", ema=10).iloc[0]
    assert ema["loss"] == final["loss"]  # no other eval within 10 steps: the last one, never the step-0 one
    wide = sl.points_from_curves(curves, runs, metric="eval", how="ema", ema=2500).iloc[0]
    evals = curves.dropna(subset=["eval_loss"])
    delta = 5000 - evals["step"].to_numpy()
    w = np.where(delta < 2500, (1 - 2 / 2501) ** delta, 0)
    assert wide["loss"] == pytest.approx(np.dot(w, evals["eval_loss"]) / w.sum(), rel=1e-12)
    train = sl.points_from_curves(curves, runs, metric="train", how="ema", ema=50).iloc[0]
    dense = curves["loss"].to_numpy()[-5:][::-1]  # every 10 steps: Δ = 0, 10, ..., 40 inside 50 steps
    w = (1 - 2 / 51) ** np.arange(0, 50, 10)
    assert train["loss"] == pytest.approx(np.dot(w, dense) / w.sum(), rel=1e-12)
    tokens = sl.points_from_curves(curves, runs, metric="train", how="ema", ema=5e6, ema_unit="tokens").iloc[0]
    w = (1 - 2 / (5e6 + 1)) ** (np.arange(0, 50, 10) * 1e5)  # 50 steps x 1e5 tokens: the same five values
    assert tokens["loss"] == pytest.approx(np.dot(w, dense) / w.sum(), rel=1e-12)


def test_readme_ema_example_gives_the_fit_of_final(capsys):
    """The README's `scalinglaws fit logs/ --how ema --metric eval` on the mixed folder: the same fit as final."""
    mixed = sl.ingest(LOGS / "mixed")
    final, ema = mixed.points(metric="eval"), mixed.points(metric="eval", how="ema")
    np.testing.assert_allclose(ema["loss"], final["loss"], rtol=2e-3)
    code, out_final, err = run_cli(capsys, "fit", LOGS / "mixed", "--how", "final", "--metric", "eval")
    assert code == 0, err
    code, out_ema, err = run_cli(capsys, "fit", LOGS / "mixed", "--how", "ema", "--metric", "eval")
    assert code == 0, err
    r2 = [float(re.search(r"R\^2 \(loss\) ([\d.]+)", o)[1]) for o in (out_final, out_ema)]
    alpha = [float(re.search(r"^  alpha\s+([\d.]+)", o, re.M)[1]) for o in (out_final, out_ema)]
    assert r2[1] >= 0.999 and abs(alpha[0] - alpha[1]) < 0.01


def test_eval_only_at_step_zero_never_gives_a_stale_or_zero_token_point():
    curves, runs = _sweep(eval_steps=[0])
    auto = sl.points_from_curves(curves, runs).iloc[0]
    assert auto["metric"] == "loss" and auto["D"] == 5000 * 1e5 and "step 0" in auto["note"]
    forced = sl.points_from_curves(curves, runs, metric="eval").iloc[0]
    assert forced["exclude"] and "D = 0" in forced["reason"]
    curves, runs = _sweep(eval_steps=[0, 1000])  # the last evaluation at step 1000 of 5000: kept, and said
    stale = sl.points_from_curves(curves, runs).iloc[0]
    assert stale["metric"] == "eval_loss" and stale["D"] == 1000 * 1e5 and "step 1000 of 5000" in stale["note"]


def test_metric_eval_on_a_run_without_eval_names_the_right_cause(capsys, tmp_path):
    log = tmp_path / "run.csv"
    log.write_text("step,loss,tokens\n10,4.0,1000\n20,3.5,2000\n")
    (tmp_path / "runs.csv").write_text("run,N\nrun,1e6\n")
    code, _, err = run_cli(capsys, "fit", tmp_path, "--metric", "eval")
    assert code == 2 and "evaluation loss" in err and "--metric train" in err and "token counts" not in err


# ------------------------------------------------------------------------------------------------------ checks

def test_noisy_run_is_not_diverged_and_a_blow_up_is():
    rng = np.random.default_rng(0)
    steps = np.arange(1, 5001)
    clean = 3.0 + 5.0 / np.sqrt(steps)
    noisy = clean * np.exp(0.12 * rng.standard_normal(steps.size))
    assert np.median(noisy[-3:]) > 1.25 * noisy.min() or noisy[-50:].mean() > 1.25 * noisy.min()  # the old test fails
    blow = clean.copy()
    blow[-500:] *= np.linspace(1.0, 2.0, 500)
    frame = pd.concat([pd.DataFrame({"run": name, "step": steps, "loss": values})
                       for name, values in (("noisy", noisy), ("blow", blow))])
    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "runs.csv"
    frame.to_csv(path, index=False)
    runs = sl.ingest(path).runs.set_index("run")
    assert not runs.at["noisy", "diverged"] and runs.at["blow", "diverged"]


# ----------------------------------------------------------------------------------------------------- folders

def test_a_folder_of_many_logs_is_read_in_parallel_with_one_summary(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for i in range(150):
        steps = np.arange(10, 110, 10)
        pd.DataFrame({"step": steps, "loss": 4 - steps / 100 + 0.01 * rng.random(steps.size)}).to_csv(
            tmp_path / f"run{i:03d}.csv", index=False)
    (tmp_path / "broken.csv").write_text("step,loss\n10,4.0\n20,x\n")
    (tmp_path / "big.csv").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 10\n")
    one = sl.ingest(tmp_path, n_jobs=1)
    two = sl.ingest(tmp_path, n_jobs=2)
    capsys.readouterr()
    pd.testing.assert_frame_equal(one.curves, two.curves)
    assert len(two.runs) == 150
    skipped = two.skipped.set_index("path")
    assert "not a number" in skipped.at[str(tmp_path / "broken.csv"), "detail"]
    assert "Git LFS" in skipped.at[str(tmp_path / "big.csv"), "reason"]
    text = two.summary()
    assert "more runs without flags" in text and "unreadable logs: 1" in text and len(text.splitlines()) < 60
    with pytest.raises(sl.InputError, match="Git LFS pointer"):
        sl.ingest(tmp_path, strict=True)
    (tmp_path / "big.csv").unlink()
    with pytest.raises(sl.InputError, match="not a number"):
        sl.ingest(tmp_path, strict=True)
    code, out, err = run_cli(capsys, "ingest", tmp_path, "--n-jobs", "2")
    assert code == 0 and err == ""  # no progress bar when not on a terminal


def test_logs_named_alike_by_their_files_are_told_apart_by_their_paths(tmp_path):
    for name, loss in (("a", 4.0), ("b", 5.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.log").write_text(f"s:0 trl:{loss}\ns:1 trl:{loss - 1}\n")
    result = sl.ingest(tmp_path)
    assert sorted(result.runs["run"]) == ["a/main", "b/main"]
    assert _curve(result, "b/main", "loss") == {0: 5.0, 1: 4.0}
    assert any("named by their paths" in note for note in result.notes)


def test_a_trainers_tensorboard_copy_of_a_run_is_not_a_second_run(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "out"
    shutil.copytree(LOGS / "huggingface" / "run-a", out)
    events = out / "runs" / "Jan01_00-00-00_host"
    shutil.copytree(next(p for p in (LOGS / "tensorboard").iterdir() if p.is_dir()), events)
    result = sl.ingest(tmp_path)
    assert result.runs["run"].tolist() == ["out"] and result.runs["format"].tolist() == ["huggingface"]
    assert "TensorBoard copies of a Trainer run" in " ".join(result.skipped["reason"])
    copies = [p for p, r in result.skipped[["path", "reason"]].itertuples(index=False) if "copies" in r]
    assert len(copies) == len(set(result.skipped["path"]) & set(copies))  # listed once: not also "unreadable"
    assert not any("unreadable" in r for r in result.skipped["reason"])


def test_a_trainers_runs_folder_given_alone_is_read(tmp_path):
    """Given the Trainer's ``runs/`` folder (its trainer_state.json is outside what was given, so not read),
    the events are the run: read, not skipped as a copy."""
    pytest.importorskip("tensorboard")
    out = tmp_path / "out"
    shutil.copytree(LOGS / "huggingface" / "run-a", out)
    source = next(p for p in (LOGS / "tensorboard").iterdir() if p.is_dir())
    shutil.copytree(source, out / "runs" / "Jan01_00-00-00_host")
    alone, elsewhere = sl.ingest(out / "runs"), sl.ingest(source)
    assert alone.runs["format"].tolist() == ["tensorboard"] and not len(alone.skipped)
    assert alone.curves.drop(columns="run").equals(elsewhere.curves.drop(columns="run"))


@pytest.mark.parametrize("with_step", [True, False])
def test_a_wandb_runs_table_export_with_chosen_columns_is_told(tmp_path, capsys, with_step):
    """The W&B runs table exported with columns picked in the UI (no State; End Time, ID, Updated instead) is a
    runs-table export: read when it carries a step, else refused with the runs table's own hint."""
    step = ',"_step"' if with_step else ""
    rows = [f'"Name","Created","Runtime","End Time","ID","Updated","train/loss"{step}']
    rows += [f'"{n}","2022-06-10T05:44:17.000Z","498","2022-06-10T05:52:35.000Z","{n}id","2022-06-10T05:52:35.000Z",'
             f'"{loss}"' + (',"1200"' if with_step else "") for n, loss in (("a", 2.5), ("b", 2.25))]
    log = tmp_path / "wandb_export.csv"
    log.write_text("\n".join(rows) + "\n")
    code, out, err = run_cli(capsys, "ingest", log)
    if with_step:
        assert code == 0, err
        result = sl.ingest(log)
        assert result.files["format"].tolist() == ["wandb-runs"]
        assert {r: _curve(result, r, "loss") for r in ("a", "b")} == {"a": {1200: 2.5}, "b": {1200: 2.25}}
    else:
        assert code == 2 and "has no step column among the runs' summary metrics" in err and "_step" in err


def test_llama_factory_trainer_log(tmp_path):
    """LLaMA-Factory's trainer_log.jsonl: its steps are ``current_steps``; its ``total_tokens`` stays 0 when the
    trainer does not count them, which is no token count (flagged, not read); beside a trainer_state.json it is
    the state's curve again, and listed as such."""
    entries = [{"current_steps": s, "total_steps": 30, "loss": 2.5 - s / 100, "learning_rate": 1e-5, "epoch": s / 30,
                "percentage": 100 * s / 30, "elapsed_time": "0:00:24", "throughput": "0.00", "total_tokens": 0}
               for s in (10, 20, 30)]
    log = tmp_path / "out" / "trainer_log.jsonl"
    log.parent.mkdir()
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    result = sl.ingest(log)
    assert _curve(result, "trainer_log", "loss") == {10: 2.4, 20: 2.3, 30: 2.2}
    assert result.curves["tokens"].isna().all()
    assert "token count is 0 at every step" in result.runs.at[0, "flags"]
    history = [{"step": e["current_steps"], "loss": e["loss"], "epoch": e["epoch"]} for e in entries]
    (log.parent / "trainer_state.json").write_text(json.dumps({"global_step": 30, "log_history": history}))
    both = sl.ingest(tmp_path)
    assert both.runs["format"].tolist() == ["huggingface"]
    assert [(Path(p).name, "LLaMA-Factory" in r) for p, r in both.skipped[["path", "reason"]].itertuples(index=False)] \
        == [("trainer_log.jsonl", True)]


def test_the_evaluation_after_training_is_read_from_eval_results(tmp_path):
    """The Trainer's scripts evaluate after the last save (``trainer.evaluate()``, ``save_metrics``): the score
    is in eval_results.json, not in trainer_state.json; it is read at the state's last step, and said."""
    out = tmp_path / "out"
    history = [{"step": s, "epoch": s / 40, "loss": 3 - s / 100} for s in (10, 20, 30)]
    history.append({"step": 40, "epoch": 1.0, "train_loss": 2.8, "total_flos": 1e15})
    (out).mkdir()
    (out / "trainer_state.json").write_text(json.dumps({"global_step": 40, "epoch": 1.0, "log_history": history}))
    (out / "eval_results.json").write_text(json.dumps({"epoch": 1.0, "eval_loss": 2.61, "eval_runtime": 3.0}))
    (out / "all_results.json").write_text(json.dumps({"epoch": 1.0, "eval_loss": 2.61, "train_loss": 2.8}))
    result = sl.ingest(out)
    assert _curve(result, "out", "eval_loss") == {40: 2.61}
    assert _curve(result, "out", "loss") == {10: 2.9, 20: 2.8, 30: 2.7}
    assert any("eval_results.json" in n and "after training" in n for n in result.notes)
    assert set(result.skipped["path"].map(lambda p: Path(p).name)) == {"eval_results.json", "all_results.json"}
    assert all("Trainer result summaries" in r for r in result.skipped["reason"])
    # another epoch (an evaluation of another training), or a state with its own final evaluation: not added
    (out / "eval_results.json").write_text(json.dumps({"epoch": 0.5, "eval_loss": 2.61}))
    assert _curve(sl.ingest(out), "out", "eval_loss") == {}
    history.insert(3, {"step": 40, "epoch": 1.0, "eval_loss": 2.6})
    (out / "trainer_state.json").write_text(json.dumps({"global_step": 40, "epoch": 1.0, "log_history": history}))
    (out / "eval_results.json").write_text(json.dumps({"epoch": 1.0, "eval_loss": 2.61}))
    assert _curve(sl.ingest(out), "out", "eval_loss") == {40: 2.6}


def test_tokens_between_logged_counts_are_interpolated_and_said(tmp_path):
    log = tmp_path / "run.csv"
    log.write_text("step,loss,val_loss,tokens\n10,4.0,,1000\n15,,4.2,\n20,3.5,,2000\n")
    result = sl.ingest(log)
    assert _curve(result, "run", "tokens") == {10: 1000.0, 15: 1500.0, 20: 2000.0}
    assert "interpolated" in result.runs.iloc[0]["flags"]
