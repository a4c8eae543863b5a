"""`scalinglaws ingest` and `scalinglaws fit FOLDER` end to end, and one clear line with exit code 2 for every
bad log: truncated, empty, wrongly encoded, duplicated runs, missing metadata (nothing skipped silently)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl

from .helpers import LOGS, run_cli as run



def one_line_error(capsys, *args) -> str:
    code, _, err = run(capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scalinglaws: error: "), err
    assert "Traceback" not in err
    return lines[0]


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_ingest_mixed_folder_to_parquet(capsys, tmp_path):
    before = digest(LOGS / "mixed")
    out, points = tmp_path / "runs.parquet", tmp_path / "points.csv"
    code, text, err = run(capsys, "ingest", LOGS / "mixed", "-o", out, "--points", points)
    assert code == 0, err
    assert "Ingested 12 logs" in text and "12 runs" in text and "files that are not logs: 1 (README.txt)" in text
    table = pd.read_parquet(out)
    assert table["run"].nunique() == 12
    assert {"run", "step", "tokens", "lr", "loss", "eval_loss", "N", "C", "format", "source"} <= set(table.columns)
    np.testing.assert_allclose(table["C"], 6 * table["N"] * table["tokens"])
    assert len(pd.read_csv(points)) == 12
    assert digest(LOGS / "mixed") == before  # inputs are never modified
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.csv", "runs.parquet"]  # no temp files


def test_fit_on_a_folder_of_logs_runs_end_to_end(capsys, tmp_path):
    code, out, err = run(capsys, "fit", LOGS / "mixed", "--out", tmp_path / "fit.json", "--plot", tmp_path / "fit.png")
    assert code == 0, err
    assert "Ingested 12 logs" in out and "converged" in out and "Compute-optimal allocation" in out
    result = sl.load(tmp_path / "fit.json")
    assert result.n_points == 12 and result.params["alpha"] == pytest.approx(0.34, abs=0.02)


def test_fit_a_curve_law_on_a_folder_of_logs(capsys):
    code, out, err = run(capsys, "fit", LOGS / "tensorboard", "--law", "lr-annealing")
    assert code == 0, err
    assert "Ingested 2 logs (2 tensorboard)" in out and "schedule of run-a" in out and "R^2" in out


def test_ingest_writes_points_at_token_counts(capsys, tmp_path):
    points = tmp_path / "points.csv"
    code, out, err = run(capsys, "ingest", LOGS / "mixed", "--points", points, "--at-tokens", "5e8,2e9")
    assert code == 0, err
    table = pd.read_csv(points)
    assert set(table["D"]) == {5e8, 2e9} and (table["how"] == "at_tokens").all()
    assert "token counts not reached" in out


def test_skip_bad_lines_counts_what_it_skipped(capsys, tmp_path):
    log = tmp_path / "run.log"
    text = (LOGS / "text" / "nanogpt.log").read_text()
    log.write_text(text.rstrip("\n")[:-3])  # cut inside the last metric line
    line = one_line_error(capsys, "ingest", log)
    assert f"{log}, line {text.count(chr(10))}" in line and "incomplete" in line and "--skip-bad-lines" in line
    code, out, err = run(capsys, "ingest", log, "--skip-bad-lines")
    assert code == 0, err
    assert "incomplete last line: 1 (run.log)" in out


# --------------------------------------------------------------------------------------------- truncated

def _copy(src: Path, dst: Path) -> Path:
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy(src, dst)
    return dst


def test_truncated_csv(capsys, tmp_path):
    path = tmp_path / "curves.csv"
    text = (LOGS / "plain" / "curves.csv").read_text()
    path.write_text(text[: text.rindex(",", 0, len(text) - 10)])
    assert "incomplete (4 of 6 fields" in one_line_error(capsys, "ingest", path)


def test_truncated_jsonl(capsys, tmp_path):
    path = tmp_path / "wandb-history.jsonl"
    text = (LOGS / "wandb" / "wandb-history.jsonl").read_text()
    path.write_text(text[:-20])
    line = one_line_error(capsys, "ingest", path)
    assert f"line {text.count(chr(10))}" in line and "incomplete" in line


def test_truncated_trainer_state(capsys, tmp_path):
    path = tmp_path / "out" / "trainer_state.json"
    path.parent.mkdir()
    text = (LOGS / "huggingface" / "run-a" / "trainer_state.json").read_text()
    path.write_text(text[: len(text) // 2])
    line = one_line_error(capsys, "ingest", path)
    assert "trainer_state.json, line" in line and "not valid JSON" in line and "truncated" in line


def test_empty_trainer_state_says_it_is_empty(capsys, tmp_path):
    (tmp_path / "run" / "checkpoint-10").mkdir(parents=True)
    (tmp_path / "run" / "checkpoint-10" / "trainer_state.json").write_text("")
    code, text, err = run(capsys, "ingest", tmp_path / "run")
    assert code == 2
    assert "trainer_state.json: is empty" in text and "not valid JSON" not in text
    assert "1 thing was left out" in err


def test_empty_fit_file_says_it_is_empty(capsys, tmp_path):
    (tmp_path / "fit.json").write_text("\n")
    line = one_line_error(capsys, "forecast", tmp_path / "fit.json", "--params", "7e10", "--tokens", "1.4e12")
    assert "fit.json: is empty" in line


def test_truncated_tensorboard_events(capsys, tmp_path):
    run_dir = _copy(LOGS / "tensorboard" / "run-a", tmp_path / "run-a")
    event = next(run_dir.glob("events.out.tfevents.*"))
    event.write_bytes(event.read_bytes()[:-7])
    line = one_line_error(capsys, "ingest", run_dir)
    assert event.name in line and "cut off after" in line
    code, out, err = run(capsys, "ingest", run_dir, "--skip-bad-lines")
    assert code == 0 and "truncated event records: 1" in out


def test_truncated_mlflow_metric(capsys, tmp_path):
    runs = _copy(LOGS / "mlflow", tmp_path / "mlflow")
    metric = sorted(runs.rglob("metrics/train_loss"))[0]
    metric.write_text(metric.read_text()[:-6])
    line = one_line_error(capsys, "ingest", metric.parents[1])  # the run folder, named: an error
    assert "train_loss, line" in line and "incomplete" in line
    code, out, err = run(capsys, "ingest", runs)  # in a folder of runs: that run is skipped, and said
    assert code == 0, err
    assert "unreadable logs: 1" in out and "train_loss, line" in out and "incomplete" in out
    line = one_line_error(capsys, "ingest", runs, "--strict")  # --strict restores the stop
    assert "train_loss, line" in line and "incomplete" in line


# ------------------------------------------------------------------------------------------ empty files

@pytest.mark.parametrize("name, content", [("curves.csv", ""), ("train.log", "\n\n"), ("wandb-history.jsonl", ""),
                                           ("trainer_state.json", "")])
def test_empty_files(capsys, tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    line = one_line_error(capsys, "ingest", path)
    assert str(path) in line and ("empty" in line or "cannot tell" in line)


def test_logs_without_steps(capsys, tmp_path):
    header_only = tmp_path / "a.csv"
    header_only.write_text("step,loss\n")
    line = one_line_error(capsys, "ingest", header_only)
    assert f"{header_only}: no logged steps found" in line
    (tmp_path / "b.csv").write_text("step,loss\n1,3.0\n2,2.5\n")
    result = sl.ingest(tmp_path)  # the empty log is counted, not an error, when others have steps
    assert result.runs["run"].tolist() == ["b"]
    assert result.skipped[["path", "reason", "count"]].to_dict("records") == [
        {"path": str(header_only), "reason": "logs with no logged steps", "count": 1}]


def test_empty_event_file(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "events.out.tfevents.1.host").write_bytes(b"")
    assert "event file is empty" in one_line_error(capsys, "ingest", tmp_path / "run")


# ------------------------------------------------------------------------------------------- encodings

def test_wrong_encoding(capsys, tmp_path):
    path = tmp_path / "curves.csv"
    path.write_bytes("run,step,loss\ncafé,1,3.0\n".encode("latin-1"))
    line = one_line_error(capsys, "ingest", path)
    assert f"{path}, line 2: byte 0xe9 is not valid UTF-8" in line and "re-save" in line
    log = tmp_path / "train.log"
    log.write_bytes("iter 1: loss 3.0000, time 1.00ms, mfu 1.00%\n# schöne Grüße\n".encode("latin-1"))
    assert f"{log}, line 2: byte 0xf6" in one_line_error(capsys, "ingest", log)


def test_utf16_with_bom_is_read(capsys, tmp_path):
    path = tmp_path / "curves.csv"
    path.write_text("run,step,loss\na,1,3.0\na,2,2.5\n", encoding="utf-16")
    assert sl.ingest(path).curves["loss"].tolist() == [3.0, 2.5]


# --------------------------------------------------------------------------------------- duplicate runs

def test_duplicate_runs(capsys, tmp_path):
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("run,step,loss\nsame,1,3.0\n")
    line = one_line_error(capsys, "ingest", tmp_path)
    assert "run 'same' is also in" in line and "a.csv" in line and "b.csv" in line and "rename one" in line


def test_duplicate_rows_in_runs_table(capsys, tmp_path):
    (tmp_path / "log.csv").write_text("run,step,loss\na,1,3.0\n")
    (tmp_path / "runs.csv").write_text("run,N\na,1e8\na,2e8\n")
    assert "runs.csv, line 3, column 'run': run 'a' is listed twice" in one_line_error(capsys, "ingest", tmp_path)


# ------------------------------------------------------------------------------------- missing metadata

def test_missing_parameter_count(capsys, tmp_path):
    tb = _copy(LOGS / "tensorboard", tmp_path / "tb")
    (tb / "runs.csv").write_text("run,batch_size,seq_len\nrun-a,8,64\nrun-b,8,64\n")
    line = one_line_error(capsys, "fit", tb)
    assert "run 'run-a' (and 1 other runs) has no parameter count N" in line and "runs.csv" in line


def test_missing_token_counts(capsys, tmp_path):
    tb = _copy(LOGS / "tensorboard", tmp_path / "tb")
    (tb / "runs.csv").write_text("run,N\nrun-a,1e6\nrun-b,2e6\n")
    line = one_line_error(capsys, "fit", tb)
    assert "has no token counts" in line and "batch_size and seq_len" in line


def test_bad_options(capsys, tmp_path):
    assert "'speed' is not one of" in one_line_error(capsys, "ingest", LOGS / "plain", "--key", "speed=x")
    assert "does not compile" in one_line_error(capsys, "ingest", LOGS / "text", "--regex", "(?P<step")
    assert "not found" in one_line_error(capsys, "ingest", tmp_path / "nope")
    assert "write tables as" in one_line_error(capsys, "ingest", LOGS / "plain", "-o", tmp_path / "x.xlsx")


def test_blank_run_name_is_named_with_its_line(capsys, tmp_path):
    path = tmp_path / "curves.csv"
    path.write_text("run,step,loss\na,1,3.0\n  ,2,2.5\n")
    line = one_line_error(capsys, "ingest", path)
    assert f"{path}, line 3" in line and "run name is blank" in line


def test_fit_reads_logs_with_the_same_strict_and_ema_options_as_ingest(capsys, tmp_path):
    """``fit`` on logs takes ingest's --strict, --ema and --ema-unit, and passes them to the same library calls."""
    import scalinglaws as sl

    runs = _copy(LOGS / "mlflow", tmp_path / "mlflow")
    metric = sorted(runs.rglob("metrics/train_loss"))[0]
    metric.write_text(metric.read_text()[:-6])
    line = one_line_error(capsys, "fit", runs, "--law", "chinchilla", "--strict")
    assert "train_loss, line" in line and "incomplete" in line
    mixed = LOGS / "mixed"
    code, wide, err = run(capsys, "fit", mixed, "--how", "ema", "--metric", "eval", "--ema", "4000", "--format",
                          "json")
    assert code == 0, err
    code, narrow, err = run(capsys, "fit", mixed, "--how", "ema", "--metric", "eval", "--ema", "1", "--format",
                            "json")
    assert code == 0, err
    expected = sl.read_input(str(mixed), sl.io.ReadOptions(logs=sl.io.LogOptions(how="ema", metric="eval",
                                                                                  ema=4000))).table
    other = sl.read_input(str(mixed), sl.io.ReadOptions(logs=sl.io.LogOptions(how="ema", metric="eval",
                                                                               ema=1))).table
    assert not np.allclose(expected["loss"], other["loss"])  # the window matters here, so the option is read
    assert wide != narrow
    code, default, err = run(capsys, "fit", mixed, "--how", "ema", "--metric", "eval", "--format", "json")
    code, ten, err = run(capsys, "fit", mixed, "--how", "ema", "--metric", "eval", "--ema", "10", "--format", "json")
    assert default == ten  # the default window is ingest's
