"""Ingesting training logs: every format's fixture parses into the same canonical curves (the values the
fixture generator logged, tests/fixtures/make_logs.py), detection, metadata, restarts, flags and points."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.exceptions import InputError
from scalinglaws.io.architecture import count_parameters
from scalinglaws.io.detect import detect_file
from scalinglaws.io.names import choose_keys

from .helpers import LOGS

EXPECTED = json.loads((LOGS / "expected.json").read_text())
TOKENS_PER_STEP = 512  # batch 8 x sequence 64 in every per-format fixture


def truth(run: str) -> pd.DataFrame:
    """The ground truth of a fixture run: step, loss, lr, eval_loss (NaN where not logged)."""
    c = EXPECTED["curves"][run]
    frame = pd.DataFrame({"step": c["step"], "loss": c["loss"], "lr": c["lr"]})
    evals = dict(zip(c["eval_step"], c["eval_loss"]))
    frame["eval_loss"] = frame["step"].map(evals)
    return frame


# path, runs (name in the log -> truth run), roles the format carries, rtol of lr, tokens known
CASES = {
    "tensorboard": ("tensorboard", {"run-a": "run-a", "run-b": "run-b"}, ("loss", "eval_loss", "lr"), 0, False),
    "mlflow": ("mlflow", {"run-a": "run-a", "run-b": "run-b"}, ("loss", "eval_loss", "lr"), 0, True),
    "lightning": ("lightning/lightning_logs/version_0/metrics.csv", {"lightning": "run-a"},
                  ("loss", "eval_loss", "lr"), 0, True),
    "huggingface": ("huggingface/run-a/trainer_state.json", {"run-a": "run-a"}, ("loss", "eval_loss", "lr"), 0,
                    True),
    "wandb-csv": ("wandb/wandb_export_2025-11-23T12_00_00.000+00_00.csv", {"run-a": "run-a", "run-b": "run-b"},
                  ("loss",), 0, False),
    "wandb-history": ("wandb/wandb-history.jsonl", {"wandb": "run-a"}, ("loss", "eval_loss", "lr"), 0, False),
    "nanogpt": ("text/nanogpt.log", {"nanogpt": "run-a"}, ("loss", "eval_loss"), 0, True),
    "megatron": ("text/megatron.log", {"megatron": "run-a"}, ("loss", "eval_loss", "lr"), 1e-6, True),
    "gpt-neox": ("text/neox.log", {"neox": "run-a"}, ("loss", "eval_loss", "lr"), 1e-3, False),
    "torchtitan": ("text/torchtitan.log", {"torchtitan": "run-a"}, ("loss", "eval_loss"), 0, False),
    "table": ("plain/curves.csv", {"run-a": "run-a", "run-b": "run-b"}, ("loss", "eval_loss", "lr"), 0, True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_format_gives_the_same_canonical_curves(case):
    path, runs, roles, lr_rtol, tokens_known = CASES[case]
    ingested = sl.ingest(LOGS / path)
    assert sorted(ingested.runs["run"]) == sorted(runs)
    assert list(ingested.curves.columns) == ["run", "step", "tokens", "lr", "loss", "eval_loss"]
    for name, truth_run in runs.items():
        got = ingested.curves[ingested.curves["run"] == name].set_index("step")
        expected = truth(truth_run).set_index("step")
        extra = sorted(set(got.index) - set(expected.index))
        assert extra in ([], [0]), extra  # nanoGPT also evaluates before the first step
        got = got.loc[expected.index]
        for role in roles:
            rtol = lr_rtol if role == "lr" else 0
            np.testing.assert_allclose(got[role].to_numpy(), expected[role].to_numpy(), rtol=rtol, atol=0,
                                       err_msg=f"{case} {name} {role}")
        for role in {"loss", "eval_loss", "lr"} - set(roles):
            assert got[role].isna().all(), (case, role)
        if tokens_known:
            np.testing.assert_array_equal(got["tokens"].to_numpy(), expected.index.to_numpy() * TOKENS_PER_STEP)
        else:
            assert got["tokens"].isna().all()


def test_nanogpt_reads_its_startup_lines():
    ingested = sl.ingest(LOGS / "text" / "nanogpt.log")
    run = ingested.runs.iloc[0]
    assert run["N"] == pytest.approx(1.03e6) and run["tokens_per_step"] == 512
    assert run["tokens_source"] == "step x tokens/step"
    # nanoGPT's count includes the token embedding; this log gives neither vocab_size nor n_embd: said, and flagged
    assert run["N_source"].startswith("log (nanoGPT's printed count, which includes the token embedding")
    assert "N includes the token embedding" in run["flags"]
    first = ingested.curves.iloc[0]
    assert (first["step"], first["eval_loss"]) == (0, 10.95) and np.isnan(first["loss"])


def test_megatron_tokens_come_from_consumed_samples_and_agree_with_the_batch():
    ingested = sl.ingest(LOGS / "text" / "megatron.log")
    run = ingested.runs.iloc[0]
    assert run["tokens_source"] == "logged" and run["tokens_per_step"] == 8 * 64  # from the argument dump
    assert run["flags"] == ""  # logged tokens agree with step x global batch x seq_length


def test_custom_regex_log():
    pattern = r"it\s+(?P<step>\d+) \| lr (?P<lr>\S+) \| train_ce (?P<loss>\S+)"
    ingested = sl.ingest(LOGS / "text" / "custom.log", regex=pattern)
    got = ingested.curves.set_index("step")
    expected = truth("run-a").set_index("step")
    np.testing.assert_array_equal(got["loss"].to_numpy(), expected["loss"].to_numpy())
    np.testing.assert_allclose(got["lr"].to_numpy(), expected["lr"].to_numpy(), rtol=1e-3)
    assert ingested.files["format"].tolist() == ["text:regex"]
    with pytest.raises(InputError, match="named group 'step'"):
        sl.ingest(LOGS / "text" / "custom.log", regex=r"train_ce (?P<loss>\S+)")


@pytest.mark.parametrize("path, fmt", [
    ("tensorboard/run-a", None), ("huggingface/run-a/trainer_state.json", "huggingface"),
    ("lightning/lightning_logs/version_0/metrics.csv", "lightning"),
    ("wandb/wandb_export_2025-11-23T12_00_00.000+00_00.csv", "wandb-csv"),
    ("wandb/wandb-history.jsonl", "wandb-history"), ("text/nanogpt.log", "text"), ("text/megatron.log", "text"),
    ("text/neox.log", "text"), ("text/torchtitan.log", "text"), ("plain/curves.csv", "table"),
    ("real/hf-tiny-gpt2/trainer_state.json", "huggingface"),
    ("real/lightning-regression/lightning_logs/version_0/metrics.csv", "lightning"),
])
def test_detection_picks_the_right_parser(path, fmt):
    target = LOGS / path
    if target.is_dir():  # TensorBoard: the event file names the format
        event = next(target.glob("events.out.tfevents.*"))
        assert detect_file(event) == "tensorboard"
    else:
        assert detect_file(target) == fmt


def test_detection_of_text_dialects():
    formats = sl.ingest(LOGS / "text", regex=None).files.set_index("path")["format"]
    by_name = {Path(p).name: f for p, f in formats.items()}
    assert by_name == {"megatron.log": "text:megatron", "nanogpt.log": "text:nanogpt", "neox.log": "text:gpt-neox",
                       "torchtitan.log": "text:torchtitan"}
    skipped = sl.ingest(LOGS / "text").skipped
    assert skipped["path"].map(lambda p: Path(p).name).tolist() == ["custom.log"]  # unknown text: counted


def test_unknown_files_are_refused_with_a_clear_message(tmp_path):
    odd = tmp_path / "notes.txt"
    odd.write_text("we trained some models\nthey were good\n")
    with pytest.raises(InputError) as err:
        sl.ingest(odd)
    assert "cannot tell what kind of log this is" in str(err.value) and "--regex" in str(err.value)
    blob = tmp_path / "model.bin"
    blob.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="cannot tell"):
        sl.ingest(blob)
    with pytest.raises(InputError, match="no training logs found"):
        sl.ingest(tmp_path)


# ---------------------------------------------------------------------------------------------- real runs

def test_real_hugging_face_run_with_checkpoint_states():
    ingested = sl.ingest(LOGS / "real" / "hf-tiny-gpt2")
    assert ingested.runs["run"].tolist() == ["hf-tiny-gpt2"]
    superseded = ingested.skipped[ingested.skipped["reason"] == "superseded trainer states"]
    assert superseded["count"].sum() == 2  # the two checkpoint-* states of the same output folder
    curves = ingested.curves.set_index("step")
    logged = EXPECTED["hf_trained"]["logged"]
    train = {e["step"]: e for e in logged if "loss" in e}
    evals = {e["step"]: e["eval_loss"] for e in logged if "eval_loss" in e}
    assert sorted(train) == sorted(curves.index[curves["loss"].notna()])
    for step, entry in train.items():
        assert curves.at[step, "loss"] == entry["loss"]
        assert curves.at[step, "lr"] == entry["learning_rate"]
        assert curves.at[step, "tokens"] == entry["num_input_tokens_seen"]
    for step, value in evals.items():
        assert curves.at[step, "eval_loss"] == value
    run = ingested.runs.iloc[0]
    params = EXPECTED["hf_trained"]["params"]
    assert (run["N"], run["N_embed"], run["N_total"]) == (params["non_embedding"], params["embedding"],
                                                          params["total"])
    assert sl.ingest(LOGS / "real" / "hf-tiny-gpt2", params="total").runs.iloc[0]["N"] == params["total"]


def test_real_lightning_run_merges_its_sparse_rows():
    ingested = sl.ingest(LOGS / "real" / "lightning-regression")
    info = EXPECTED["lightning_trained"]
    curves = ingested.curves
    assert ingested.files.iloc[0]["loss_key"] == "train_loss_step"  # not the per-epoch aggregate
    assert curves["step"].is_unique  # the learning-rate rows are merged into their steps
    lrs = sorted(set(curves["lr"].dropna()), reverse=True)
    assert lrs == [info["lr"] * info["gamma"] ** k for k in range(info["epochs"])]
    assert curves["eval_loss"].notna().sum() == info["epochs"]  # one validation per epoch
    assert curves["loss"].iloc[-1] < curves["loss"].iloc[0]


@pytest.mark.parametrize("name", sorted(EXPECTED["params"]))
def test_parameter_counts_match_the_torch_models(name):
    config = json.loads((LOGS / "configs" / name / "config.json").read_text())
    assert count_parameters(config) == {k: EXPECTED["params"][name][k] for k in ("non_embedding", "embedding",
                                                                                "total")}


def test_unknown_architecture_is_reported(tmp_path):
    with pytest.raises(InputError, match="cannot count the parameters of a 'mixtral' model"):
        count_parameters({"model_type": "mixtral", "vocab_size": 10})


# ------------------------------------------------------------------------------------------- the mixed folder

def test_mixed_folder_becomes_one_table_with_metadata():
    ingested = sl.ingest(LOGS / "mixed")
    mixed = EXPECTED["mixed"]
    runs = ingested.runs.assign(name=ingested.runs["run"].str.rsplit("/", n=1).str[-1]).set_index("name")
    assert sorted(runs.index) == sorted(mixed["runs"])
    assert set(runs["format"].str.split(":").str[0]) == {"tensorboard", "mlflow", "huggingface", "lightning",
                                                          "wandb-csv", "wandb-history", "text", "table"}
    points = ingested.points().assign(name=lambda p: p["run"].str.rsplit("/", n=1).str[-1]).set_index("name")
    for name, want in mixed["runs"].items():
        assert points.at[name, "N"] == want["N"], name
        assert points.at[name, "D"] == want["D"], name
        assert points.at[name, "loss"] == want["final_eval_loss"], name
        assert points.at[name, "metric"] == "eval_loss"
    assert runs.at["hf-m1", "N_source"].endswith("hf-m1/config.json")
    assert ingested.skipped["reason"].tolist() == ["files that are not logs"]  # README.txt, counted


def test_fit_on_the_mixed_folder_recovers_the_law():
    points = sl.ingest(LOGS / "mixed").points()
    with pytest.warns(sl.DataWarning):  # 12 points for 5 parameters: said, not hidden
        result = sl.fit("chinchilla", points)
    law = EXPECTED["mixed"]["law"]
    assert result.converged
    assert result.params["E"] == pytest.approx(law["E"], abs=0.05)
    assert result.params["alpha"] == pytest.approx(law["alpha"], abs=0.02)
    assert result.params["beta"] == pytest.approx(law["beta"], abs=0.02)
    truth_loss = [law["E"] + law["A"] / n ** law["alpha"] + law["B"] / d ** law["beta"]
                  for n, d in zip(points["N"], points["D"])]
    np.testing.assert_allclose(result.predict(points), truth_loss, rtol=0.005)


# ------------------------------------------------------------------------------------ restarts, flags, points

def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_restart_keeps_the_latest_segment_and_counts_what_it_replaced(tmp_path):
    rows = ["run,step,loss"] + [f"a,{s},{5 - s / 100}" for s in (10, 20, 30, 40, 50)]
    rows += [f"a,{s},{4 - s / 100}" for s in (30, 40, 50, 60)]  # resumed from step 30
    ingested = sl.ingest(_write(tmp_path / "log.csv", "\n".join(rows) + "\n"))
    curves = ingested.curves
    assert curves["step"].tolist() == [10, 20, 30, 40, 50, 60]
    assert curves["loss"].tolist() == [4.9, 4.8, 3.7, 3.6, 3.5, 3.4]
    replaced = ingested.skipped.set_index("reason")["count"]
    assert replaced["rows replaced by a restart"] == 3
    assert not any("starts again" in note for note in ingested.notes)  # resumed from a checkpoint: no note


def test_lines_printed_again_after_a_run_are_no_restart(tmp_path):
    """A job script that echoes a run's last lines after it ends (same steps, same values) does not make a
    restart: the echoed rows are dropped and counted, and every logged step stays."""
    lines = [f"step:{s}/40 val_loss:{4 - s / 100:.4f} train_time:{s}s step_avg:1ms" for s in (10, 20, 30, 40)]
    log = _write(tmp_path / "batch.txt", "\n".join(lines + ["=== done ===", lines[1], lines[3]]) + "\n")
    ingested = sl.ingest(log)
    assert ingested.curves["step"].tolist() == [10, 20, 30, 40]
    left = ingested.skipped.set_index("reason")["count"]
    assert left["rows repeated exactly (same run, step and values)"] == 2
    assert "rows replaced by a restart" not in left
    assert not ingested.notes or not any("starts again" in note for note in ingested.notes)


def test_a_run_that_starts_again_from_its_first_step_is_said(tmp_path):
    """Steps that go back to the run's first step (a restart from scratch, or seeds of a batch job written to
    one log) are read as one run whose latest start wins, and a note says so and what to do otherwise."""
    first = [f"step:{s}/30 val_loss:{4 - s / 100:.4f} train_time:{s}s step_avg:1ms" for s in (10, 20, 30)]
    second = [f"step:{s}/30 val_loss:{3.9 - s / 100:.4f} train_time:{s}s step_avg:1ms" for s in (10, 20, 30)]
    ingested = sl.ingest(_write(tmp_path / "seeds.txt", "\n".join(first + second) + "\n"))
    assert ingested.curves["eval_loss"].tolist() == [3.8, 3.7, 3.6]
    assert ingested.skipped.set_index("reason")["count"]["rows replaced by a restart"] == 3
    said = [note for note in ingested.notes if "starts again from its first step (10)" in note]
    assert len(said) == 1 and "seeds.txt" in said[0] and "write each to its own log" in said[0]


def test_interleaved_runs_and_split_rows_are_settled(tmp_path):
    text = "run,step,loss,val_loss\nb,1,5,\na,1,4,\na,1,,4.5\nb,2,3,\na,2,2,\n"
    curves = sl.ingest(_write(tmp_path / "log.csv", text)).curves
    assert curves[["run", "step"]].values.tolist() == [["b", 1], ["b", 2], ["a", 1], ["a", 2]]
    assert curves.set_index(["run", "step"]).at[("a", 1), "eval_loss"] == 4.5


def test_a_divergence_judged_on_the_smoothed_curve_says_so(tmp_path):
    """From SMOOTH_FROM values on, the numbers of a divergence are the running median's, which may appear nowhere
    in the log: the reason names the curve they come from."""
    losses = [4 - 0.1 * s for s in range(20)] + [6.0 + 0.01 * s for s in range(20)]
    text = "step,loss\n" + "".join(f"{s},{v:.4f}\n" for s, v in enumerate(losses))
    reason = sl.ingest(_write(tmp_path / "log.csv", text)).runs.at[0, "reason"]
    assert reason.startswith("loss (running median) rose from ") and "(step " in reason


def test_diverged_runs_are_flagged_and_excluded_from_points(tmp_path):
    text = "run,step,loss,N,tokens\n" + "".join(
        f"{run},{s},{v},1e8,{s * 1000}\n" for run, values in
        (("ok", (4.0, 3.5, 3.2, 3.1)), ("nan", (4.0, 3.5, "nan", 3.3)), ("boom", (4.0, 3.0, 5.5, 6.0)))
        for s, v in zip((1, 2, 3, 4), values))
    ingested = sl.ingest(_write(tmp_path / "log.csv", text))
    runs = ingested.runs.set_index("run")
    assert runs["diverged"].to_dict() == {"ok": False, "nan": True, "boom": True}
    assert runs.at["nan", "reason"] == "loss not finite at step 3"
    assert runs.at["boom", "reason"].startswith("loss rose from 3 (step 2) to 5.5")  # 4 values: as logged
    assert np.isnan(ingested.curves.set_index(["run", "step"]).at[("nan", 3), "loss"])
    points = ingested.points().set_index("run")
    assert points["exclude"].to_dict() == {"ok": False, "nan": True, "boom": True}
    assert not sl.ingest(tmp_path / "log.csv").points(include_diverged=True)["exclude"].any()


def test_unit_problems_are_flagged(tmp_path):
    bits = sl.ingest(_write(tmp_path / "bits.csv", "step,val/bpb\n1,1.2\n2,1.1\n")).runs.iloc[0]
    assert "in bits" in bits["flags"]
    summed = sl.ingest(_write(tmp_path / "summed.csv", "step,loss\n1,900\n2,800\n")).runs.iloc[0]
    assert "per-sequence" in summed["flags"]
    (tmp_path / "dev").mkdir()
    _write(tmp_path / "dev" / "log.csv", "step,loss,tokens\n10,3.0,640\n20,2.9,1280\n")
    _write(tmp_path / "dev" / "config.yaml", "batch_size: 8\nseq_len: 64\n")  # 512 tokens/step, not 64
    per_device = sl.ingest(tmp_path / "dev").runs.iloc[0]
    assert "logged tokens are 0.125x" in per_device["flags"]


def test_points_final_ema_best_and_at_tokens():
    curves = pd.DataFrame({"run": "a", "step": [1, 2, 3, 4], "tokens": [1e9, 2e9, 3e9, 4e9],
                           "loss": [4.0, 3.0, 3.4, 3.2], "eval_loss": np.nan})
    runs = pd.DataFrame({"run": ["a"], "N": [1e8], "diverged": [False], "reason": [""]})
    final = sl.points_from_curves(curves, runs).iloc[0]
    assert (final["loss"], final["D"], final["metric"]) == (3.2, 4e9, "loss")
    best = sl.points_from_curves(curves, runs, how="best").iloc[0]
    assert (best["loss"], best["D"], best["step"]) == (3.0, 2e9, 2)
    ema = sl.points_from_curves(curves, runs, how="ema", ema=3).iloc[0]
    w = np.array([1, 0.5, 0.25])  # alpha = 2 / (3 + 1)
    assert ema["loss"] == pytest.approx(np.dot(w, [3.2, 3.4, 3.0]) / w.sum())
    at = sl.points_from_curves(curves, runs, at_tokens=[1.5e9, 9e9])
    assert len(at) == 1 and at.attrs["not_reached"] == 1
    assert at.iloc[0]["loss"] == pytest.approx(math.exp(np.interp(math.log(1.5e9), np.log([1e9, 2e9]),
                                                                   np.log([4.0, 3.0]))))
    flops = sl.points_from_curves(curves, runs, at_flops=[6 * 1e8 * 3e9])
    assert flops.iloc[0]["D"] == pytest.approx(3e9) and flops.iloc[0]["loss"] == pytest.approx(3.4)


def test_key_choice_and_user_override(tmp_path):
    assert choose_keys(["loss_scale", "train/lm_loss", "grad_norm", "val/lm_loss"]) == {
        "loss": "train/lm_loss", "eval_loss": "val/lm_loss"}
    path = _write(tmp_path / "log.csv", "step,loss,loss_smooth\n1,4,4.1\n2,3,3.2\n")
    assert sl.ingest(path).curves["loss"].tolist() == [4, 3]
    assert sl.ingest(path, keys={"loss": "loss_smooth"}).curves["loss"].tolist() == [4.1, 3.2]
    with pytest.raises(InputError, match="no log has a metric 'nope'"):
        sl.ingest(path, keys={"loss": "nope"})


def test_sidecar_gives_metadata_and_reports_rows_naming_no_run(tmp_path):
    _write(tmp_path / "gpt-s.csv", "step,loss\n100,3.0\n200,2.8\n")
    sidecar = _write(tmp_path / "meta.csv", "run,N,batch_size,seq_len\ngpt-s,125M,32,1024\ngpt-xl,1.3B,64,2048\n")
    ingested = sl.ingest(tmp_path / "gpt-s.csv", runs=sidecar)
    run = ingested.runs.iloc[0]
    assert (run["N"], run["tokens_per_step"], run["N_source"]) == (125e6, 32 * 1024, "meta.csv")
    assert ingested.curves["tokens"].tolist() == [100 * 32768, 200 * 32768]
    unmatched = ingested.skipped.set_index("reason")["count"]
    assert unmatched["runs-table rows naming no ingested run"] == 1


def test_curves_are_the_users_to_change(tmp_path):
    """pandas hands out read-only views of a log's columns; the curves ingest returns must take edits."""
    path = _write(tmp_path / "a.csv", "run,step,loss\na,1,3.0\na,2,2.5\n")
    curves = sl.ingest(path).curves
    curves.loc[0, "loss"] = 9.0
    curves.loc[1, "eval_loss"] = 2.0  # a role no log had
    curves.loc[1, "step"] = 5
    assert curves["loss"].tolist() == [9.0, 2.5] and curves["eval_loss"].tolist()[1] == 2.0
    assert sl.ingest(path).curves["loss"].tolist() == [3.0, 2.5]  # the file and a new ingest are untouched
    assert path.read_text() == "run,step,loss\na,1,3.0\na,2,2.5\n"


def test_integer_columns_become_exact_floats_in_place(tmp_path):
    """Integer metric columns (tokens) are cast to float over their own memory, chunk by chunk: the values
    are those of a plain cast at every chunk boundary, and a read-only column gets a copy instead."""
    from scalinglaws.io.plain import _floats_in_place

    values = np.array([0, 1, -5, 7, 2**53, 524_288 * 10**5, 3, 9, 11, 13], dtype=np.int64)
    for chunk in (1, 3, 4, 64):
        assert np.array_equal(_floats_in_place(values.copy(), chunk=chunk), values.astype(float))
    frozen = values.copy()
    frozen.setflags(write=False)
    assert np.array_equal(_floats_in_place(frozen), values.astype(float)) and frozen.dtype == np.int64
    path = tmp_path / "log.csv"
    steps = np.arange(1, 2001)
    frame = pd.DataFrame({"run": "a", "step": steps, "tokens": steps * 524_288, "loss": 3 - steps / 1e4})
    frame.to_csv(path, index=False)
    before = path.read_bytes()
    curves = sl.ingest(path).curves
    assert curves["tokens"].dtype == np.float64 and np.array_equal(curves["tokens"], steps * 524_288.0)
    assert path.read_bytes() == before


def test_a_metric_logged_as_run_is_kept_under_its_own_name(tmp_path):
    """A metric named like the table's own columns (``run``) used to make two ``run`` columns and a traceback."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "wandb-history.jsonl").write_text(
        '{"_step": 0, "loss": 3.0, "run": 1.0}\n{"_step": 1, "loss": 2.9, "run": 2.0}\n')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "trainer_state.json").write_text(
        '{"log_history": [{"step": 10, "loss": 3.0, "run": 1.0}, {"step": 20, "loss": 2.9, "run": 2.0}]}')
    result = sl.ingest(tmp_path)
    assert sorted(result.runs["run"]) == ["a", "b"]
    assert result.curves.groupby("run")["loss"].last().tolist() == [2.9, 2.9]
    from scalinglaws.io.logs import wide_from_records

    frame, _ = wide_from_records([{"step": 1, "run": 1.0, "loss": 2.0}], "r", "step")
    assert frame.columns.tolist() == ["run", "step", "run (metric)", "loss"]


def test_an_mlflow_runs_artifacts_are_listed_not_read(tmp_path):
    """Files an MLflow run saved (a model summary, a TensorBoard copy) are counted in what was left out."""
    import shutil

    mlruns = shutil.copytree(Path(__file__).parent / "fixtures" / "logs" / "mixed" / "mlruns", tmp_path / "mlruns")
    run = next(mlruns.rglob("metrics")).parent
    (run / "artifacts" / "tb").mkdir(parents=True)
    (run / "artifacts" / "model_summary.txt").write_text("Model: sequential\n")
    (run / "artifacts" / "tb" / "events.out.tfevents.1628697775.host.1.v2").write_bytes(b"\x00" * 16)
    result = sl.ingest(mlruns)
    before = sl.ingest(Path(__file__).parent / "fixtures" / "logs" / "mixed" / "mlruns")
    pd.testing.assert_frame_equal(before.curves, result.curves)
    saved = result.skipped[result.skipped["reason"].str.startswith("MLflow run artifacts")]
    assert sorted(Path(p).name for p in saved["path"]) == ["events.out.tfevents.1628697775.host.1.v2",
                                                           "model_summary.txt"]


def test_a_metric_logged_as_run_or_step_is_renamed_whatever_the_parser(tmp_path):
    """Parsers that put their metrics beside the run and step columns (MLflow, TensorBoard, Lightning) made two
    ``run`` columns and a traceback: every log table renames such a metric."""
    import shutil

    from scalinglaws.io.logs import LogTable

    mlruns = shutil.copytree(Path(__file__).parent / "fixtures" / "logs" / "mixed" / "mlruns", tmp_path / "mlruns")
    metrics = next(mlruns.rglob("metrics"))
    shutil.copy(metrics / "train_loss", metrics / "run")
    before = sl.ingest(Path(__file__).parent / "fixtures" / "logs" / "mixed" / "mlruns")
    after = sl.ingest(mlruns)
    pd.testing.assert_frame_equal(before.curves, after.curves)
    frame = pd.concat([pd.DataFrame({"run": ["r"], "step": [1]}), pd.DataFrame({"step": [5.0], "run": [2.0]})], axis=1)
    table = LogTable(frame=frame, path="x", format="test")
    assert table.frame.columns.tolist() == ["run", "step", "step (metric)", "run (metric)"]
    assert table.frame["run"].tolist() == ["r"] and table.frame["run (metric)"].tolist() == [2.0]


def test_wide_records_order_metrics_by_their_first_value_with_or_without_none():
    """A key's column comes where its first value (not None) comes, whether or not any value is None (two paths),
    and a value that cannot be compared with None (an array) does not break the reading."""
    from scalinglaws.io.logs import wide_from_records

    plain, _ = wide_from_records([{"step": 1, "b": 1.0}, {"step": 2, "a": 2.0, "b": 1.5}], "r", "step")
    assert list(plain.columns) == ["run", "step", "b", "a"]
    with_none, _ = wide_from_records([{"step": 1, "a": None, "b": 1.0}, {"step": 2, "a": 2.0, "b": 1.5}], "r", "step")
    assert list(with_none.columns) == ["run", "step", "b", "a"]
    assert np.isnan(with_none["a"].iloc[0]) and with_none["a"].iloc[1] == 2.0
    arrays, other = wide_from_records([{"step": 1, "loss": 2.0, "hist": np.arange(3)}], "r", "step")
    assert list(arrays.columns) == ["run", "step", "loss"] and other == ["hist"]


def test_a_trainer_state_metric_with_a_list_value_is_said_to_be_no_number_not_text(tmp_path):
    """A loss logged once as a list is left out and said as a value that is not a number (not called text)."""
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "trainer_state.json").write_text(json.dumps({"log_history": [
        {"step": 1, "loss": 2.0}, {"step": 2, "loss": [1, 2]}, {"step": 3, "loss": 1.8}]}))
    result = sl.ingest(tmp_path)
    assert result.curves["loss"].dropna().tolist() == [2.0, 1.8]
    (reason,) = result.skipped["reason"]
    assert "not numbers" in reason and "lists" in reason and not reason.startswith("text")
    assert result.skipped["count"].tolist() == [1]
