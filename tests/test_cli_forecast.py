"""End-to-end tests of the forecast, plan, batch and isoflop commands, and their bad arguments."""

import json

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl

from .helpers import DATA, EPOCH, isoflop_grid, synthetic_points, run_cli as run


@pytest.fixture(scope="module")
def fit_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    sl.save(sl.fit("chinchilla", sl.read_points(DATA / "chinchilla_epoch.csv")), path)
    return path


def test_forecast_command(capsys, fit_json, tmp_path):
    code, out, err = run(capsys, "forecast", fit_json, "--params", "7e10,1T", "--tokens", "1.4e12,20T",
                         "--bootstrap", "10", "--quiet", "--out", tmp_path / "f.csv", "--plot", tmp_path / "f.png")
    assert code == 0, err
    assert "90% band of a new run: noise from 10 bootstrap replicates" in out and "model error calibrated" in out and "70B" in out and "1.4T" in out
    assert "Warning: forecast" in out and "x the largest fitted" in out  # 1T parameters is far beyond the data
    table = pd.read_csv(tmp_path / "f.csv")
    assert (table["lower"] < table["loss"]).all() and (table["loss"] < table["upper"]).all()
    assert table["loss"][0] == pytest.approx(sl.load(fit_json).predict(N=7e10, D=1.4e12))
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_forecast_at_compute_budgets(capsys, fit_json):
    code, out, err = run(capsys, "forecast", fit_json, "--compute", "1e23", "--bootstrap", "0")
    assert code == 0, err
    fit = sl.load(fit_json)
    assert f"{sl.compute_optimal(fit, 1e23)['loss'].item():.4f}" in out


def test_plan_command(capsys, fit_json, tmp_path):
    code, out, err = run(capsys, "plan", fit_json, "--budget", "1e23,1e24", "--inference-tokens", "1e12",
                         "--unique-tokens", "1e12", "--bootstrap", "10", "--quiet", "--out", tmp_path / "p.csv",
                         "--plot", tmp_path / "p.png")
    assert code == 0, err
    for needle in ("C = 1e+23 FLOPs", "parameters N", "tokens D", "tokens/parameter", "loss", "batch size",
                   "learning rate", "epochs of the unique tokens", "FLOPs: training", "steplaw"):
        assert needle in out, needle
    table = pd.read_csv(tmp_path / "p.csv")
    assert {"N_opt", "N_opt_lower", "N_opt_upper", "batch_tokens", "lr", "epochs", "inference_flops"} <= set(table)
    assert (tmp_path / "p.png").exists()


def test_plan_with_deepseek_hyperparameters(capsys, fit_json):
    code, out, err = run(capsys, "plan", fit_json, "--budget", "1e22", "--hparams", "deepseek", "--bootstrap", "0")
    assert code == 0, err
    assert "deepseek" in out and "batch size" in out


def test_batch_command(capsys, tmp_path):
    rows = [(model, b, s_min * (1 + b_noise / b)) for model, s_min, b_noise in (("small", 1000, 2e5), ("big", 3000, 8e5))
            for b in np.geomspace(3e4, 8e6, 8)]
    path = tmp_path / "sweeps.csv"
    pd.DataFrame(rows, columns=["model", "batch_size_tokens", "steps_to_target"]).to_csv(path, index=False)
    code, out, err = run(capsys, "batch", path, "--out", tmp_path / "b.csv", "--plot", tmp_path / "b.png")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "b.csv").set_index("sweep")
    assert table.loc["small", "B_noise"] == pytest.approx(2e5, rel=1e-6)
    assert table.loc["big", "S_min"] == pytest.approx(3000, rel=1e-6)
    assert "small" in out and "200k" in out


def test_isoflop_command(capsys, tmp_path):
    data = synthetic_points(EPOCH, 0.003, seed=1, grid=isoflop_grid(EPOCH, per_budget=9, spread=8.0))
    path = tmp_path / "iso.csv"
    data.assign(budget=6 * data["N"] * data["D"]).drop(columns=[]).to_csv(path, index=False)
    code, out, err = run(capsys, "isoflop", path, "--plot", tmp_path / "iso.png")
    assert code == 0, err
    assert "N_opt = " in out and "9 of 9 budgets used" in out and (tmp_path / "iso.png").exists()


def test_isoflop_error_names_the_file_and_why_each_budget_was_dropped(capsys, tmp_path):
    path = tmp_path / "few.csv"
    pd.DataFrame({"N": [1e8, 2e8, 1e8, 2e8, 4e8], "D": [2e9, 1e9, 2e10, 1e10, 5e9],
                  "loss": [3.1, 3.0, 2.8, 2.9, 3.0]}).to_csv(path, index=False)
    code, out, err = run(capsys, "isoflop", path)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{path}: only 0 of 2 budgets give a usable minimum" in err
    assert "1: fewer than 3 model sizes" in err and "outside the sampled range" in err


@pytest.mark.parametrize("args, message", [
    (["plan", "{fit}", "--budget", "-1e23"], "'-1e23' must be a positive finite number"),
    (["plan", "{fit}", "--budget", "1e23", "--unique-tokens", "0"], "'0' must be a positive finite number"),
    (["plan", "{fit}"], "Missing option '--budget'"),
    (["plan", "{tmp}/missing.json", "--budget", "1e23"], "missing.json: file not found"),
    (["plan", "{bad_law}", "--budget", "1e23"], "cannot rebuild law 'nope'"),
    (["plan", "{fit}", "--budget", "1e23", "--hparams", "mine"], "Invalid value for '--hparams'"),
    (["forecast", "{fit}"], "give what to forecast"),
    (["forecast", "{fit}", "--params", "7e9,1e10", "--tokens", "1e11,2e11,3e11"], "same length"),
    (["forecast", "{fit}", "--compute", "lots"], "'lots' is not a number"),
    (["forecast", "{fit}", "--params", "7e9", "--tokens", "1e11", "--bootstrap", "1"], "at least 2 replicates"),
    (["forecast", "{notjson}", "--params", "7e9", "--tokens", "1e11"], "not valid JSON"),
    (["batch", "{tmp}/missing.csv"], "file not found"),
    (["batch", "{notjson}"], "no column with the steps to reach the target loss"),
    (["isoflop", "{notjson}"], "missing column"),
])
def test_bad_arguments(capsys, fit_json, tmp_path, args, message):
    bad_law = tmp_path / "bad.json"
    record = json.loads(fit_json.read_text())
    record["law"] = {**record["law"], "name": "nope", "class": "nowhere.Nope"}
    bad_law.write_text(json.dumps(record))
    notjson = tmp_path / "table.csv"
    notjson.write_text("a,b\n1,2\n")
    filled = [a.format(fit=fit_json, tmp=tmp_path, bad_law=bad_law, notjson=notjson) for a in args]
    code, _, err = run(capsys, *filled)
    assert code == 2 and err.count("\n") == 1 and message in err, err
